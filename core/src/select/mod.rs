//! Backend selection: how each engine picks an endpoint for a new connection.
