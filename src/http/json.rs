//! JSON request bodies and response bodies (stub — being implemented).
