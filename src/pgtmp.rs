//! A private, throwaway PostgreSQL cluster (stub — being implemented).
