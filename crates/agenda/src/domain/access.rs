//! Who is looking, and what that lets them see and change.
//!
//! Public events are for everyone, tokens or not; a private event exists only for its organizer
//! and admins. Changing an event (update, cancel) is for its organizer and admins. The rules
//! live here once, and the queries of [`crate::storage`] apply the same ones in SQL.

use uuid::Uuid;

use super::Visibility;

/// The caller of a request, as far as the agenda's rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// No token: public events only.
    Anonymous,
    /// A customer: public events and their own.
    User(Uuid),
    /// Everything.
    Admin(Uuid),
}

impl Viewer {
    /// The user behind a verified token.
    pub fn user(id: Uuid, is_admin: bool) -> Self {
        if is_admin {
            Self::Admin(id)
        } else {
            Self::User(id)
        }
    }

    /// The caller's user id, if any.
    pub fn id(self) -> Option<Uuid> {
        match self {
            Self::Anonymous => None,
            Self::User(id) | Self::Admin(id) => Some(id),
        }
    }

    pub fn is_admin(self) -> bool {
        matches!(self, Self::Admin(_))
    }

    /// Whether an event organized by `organizer` with `visibility` exists for this caller.
    pub fn can_see(self, organizer: Uuid, visibility: Visibility) -> bool {
        visibility == Visibility::Public || self.can_manage(organizer)
    }

    /// Whether this caller may update or cancel an event organized by `organizer`.
    pub fn can_manage(self, organizer: Uuid) -> bool {
        match self {
            Self::Anonymous => false,
            Self::User(id) => id == organizer,
            Self::Admin(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_events_are_for_everyone_private_ones_for_their_organizer_and_admins() {
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let admin = Viewer::user(Uuid::now_v7(), true);
        for viewer in [
            Viewer::Anonymous,
            Viewer::User(bob),
            Viewer::User(alice),
            admin,
        ] {
            assert!(viewer.can_see(alice, Visibility::Public), "{viewer:?}");
        }
        assert!(!Viewer::Anonymous.can_see(alice, Visibility::Private));
        assert!(!Viewer::User(bob).can_see(alice, Visibility::Private));
        assert!(Viewer::User(alice).can_see(alice, Visibility::Private));
        assert!(admin.can_see(alice, Visibility::Private));
    }

    #[test]
    fn only_the_organizer_and_admins_manage_an_event() {
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(Viewer::User(alice).can_manage(alice));
        assert!(!Viewer::User(bob).can_manage(alice));
        assert!(!Viewer::Anonymous.can_manage(alice));
        assert!(Viewer::user(bob, true).can_manage(alice));
    }
}
