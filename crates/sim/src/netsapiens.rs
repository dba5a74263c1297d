//! Simulator of a NetSapiens PBX: API v2 (`/ns-api/v2`).
