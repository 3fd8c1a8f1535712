//! `AuthLevels`: which access levels every operation requires, as configured.

use std::fmt;
use std::str::FromStr;

/// Which access levels every operation requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLevels {
    pub client: bool,
    pub chain: bool,
    pub location: bool,
}

impl Default for AuthLevels {
    fn default() -> Self {
        Self {
            client: false,
            chain: true,
            location: false,
        }
    }
}

impl FromStr for AuthLevels {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut levels = Self {
            client: false,
            chain: false,
            location: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "client" => levels.client = true,
                "chain" => levels.chain = true,
                "location" => levels.location = true,
                other => {
                    return Err(format!(
                        "unknown access level '{other}' (client, chain, location)"
                    ))
                }
            }
        }
        if levels
            == (Self {
                client: false,
                chain: false,
                location: false,
            })
        {
            return Err("at least one access level is required (client, chain, location)".into());
        }
        Ok(levels)
    }
}

impl fmt::Display for AuthLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.client, "client"),
            (self.chain, "chain"),
            (self.location, "location"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_any_combination_and_print_back() {
        let l: AuthLevels = "client, location".parse().unwrap();
        assert!(l.client && !l.chain && l.location);
        assert_eq!(l.to_string(), "client,location");
        assert_eq!(
            "chain".parse::<AuthLevels>().unwrap(),
            AuthLevels::default()
        );
        assert!("".parse::<AuthLevels>().is_err());
        assert!("chain,gym".parse::<AuthLevels>().is_err());
    }
}
