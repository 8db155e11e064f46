//! Live delivery: WebSocket connections (`socket`), the per-node registry that fans events out to
//! them (`hub`), and the bus that carries events between nodes (`bus`); voice calls' frames and
//! ring timeout (`calls`) and their own sockets (`call_socket`).

pub mod bus;
pub mod call_socket;
pub mod calls;
pub mod hub;
pub mod socket;

pub use hub::Hub;
