//! (stub — being implemented)
