//! What a caller may see and change, and the locations that scope is made of.

use super::LocationId;

/// The narrowest level a caller authenticated at. Also the key of its rate
/// limit and of its share of the database.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole deployment (client level alone).
    Deployment,
    Chain(String),
    Location(String),
}

/// A location as scope checks and new passes need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: LocationId,
    pub chain_id: String,
}

impl Scope {
    pub fn contains(&self, location: &Location) -> bool {
        match self {
            Scope::Deployment => true,
            Scope::Chain(chain) => *chain == location.chain_id,
            Scope::Location(id) => id == location.id.as_str(),
        }
    }
}

/// Which kind of principal a credential belongs to (and which table holds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    Client = 0,
    Chain = 1,
    Location = 2,
}

impl PrincipalKind {
    pub fn name(self) -> &'static str {
        match self {
            PrincipalKind::Client => "client",
            PrincipalKind::Chain => "chain",
            PrincipalKind::Location => "location",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_contains_exactly_its_locations() {
        let here = Location {
            id: LocationId::from_stored("a-1".into()),
            chain_id: "a".into(),
        };
        assert!(Scope::Deployment.contains(&here));
        assert!(Scope::Chain("a".into()).contains(&here));
        assert!(!Scope::Chain("b".into()).contains(&here));
        assert!(Scope::Location("a-1".into()).contains(&here));
        assert!(!Scope::Location("a-2".into()).contains(&here));
    }
}
