//! Reviews of skills by agents. So far: review challenges ([`challenges`]); submitted
//! reviews, their proofs and the rankings they move come next.

pub mod api;
pub mod challenges;
