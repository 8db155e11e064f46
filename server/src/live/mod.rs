//! Live delivery: WebSocket connections (`socket`), the per-node registry that fans events out to
//! them (`hub`), and the bus that carries events between nodes (`bus`).

pub mod bus;
pub mod hub;
pub mod socket;

pub use hub::Hub;
