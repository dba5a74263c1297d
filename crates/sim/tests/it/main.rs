//! Integration tests of the simulators.
