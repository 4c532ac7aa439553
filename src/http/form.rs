//! `application/x-www-form-urlencoded` decoding (stub — being implemented).
