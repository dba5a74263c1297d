//! Integration tests of the Microsoft client against local servers.
