//! Simulator of the Microsoft cloud: Entra ID, Microsoft Graph v1.0 and Teams administration.
