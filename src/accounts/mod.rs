//! The account lifecycle: what happens to a user across areas.
//!
//! Registering, logging in, renaming, changing the password, granting the admin role
//! and deleting an account each touch several areas: the user entity ([`crate::users`]),
//! their sessions ([`crate::sessions`]), the social graph ([`crate::social`]) and the
//! e-mail queue ([`crate::jobs`]). None of those areas may call another one's service
//! (that is how the crate became one import cycle), so the steps that span them live
//! here, one layer above: handlers call this module, this module calls the areas'
//! services and repositories, and nothing below imports it.
//!
//! - [`lifecycle`]: registration side effects (the welcome e-mail), the deletion
//!   cascade (sessions first, then the social graph, then the user's keys), rename
//!   propagation into denormalized posts, the password change, the admin grant.
//! - [`login`]: credentials checked under the login throttle, then a session opened.

pub(crate) mod lifecycle;
mod login;

pub use lifecycle::grant_admin;
pub(crate) use lifecycle::{
    change_password, delete, register, register_with, set_password, update, verify_current_password,
};
pub(crate) use login::{ClientInfo, login, open_session};
