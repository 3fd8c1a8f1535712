//! The access levels a deployment may require (`client`, `chain`,
//! `location`), as the kit names and parses them: its own copy, so that it
//! never shares a parser with the server it judges.

use std::fmt;
use std::str::FromStr;

/// Which access levels every operation of the server under test requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub client: bool,
    pub chain: bool,
    pub location: bool,
}

impl Default for Levels {
    /// The contract's default: chain level alone.
    fn default() -> Self {
        Self {
            client: false,
            chain: true,
            location: false,
        }
    }
}

impl FromStr for Levels {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut levels = Self {
            client: false,
            chain: false,
            location: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "client" => levels.client = true,
                "chain" => levels.chain = true,
                "location" => levels.location = true,
                _ => {
                    return Err(format!(
                        "unknown access level '{part}' (client, chain, location)"
                    ))
                }
            }
        }
        if !(levels.client || levels.chain || levels.location) {
            return Err("at least one access level is required (client, chain, location)".into());
        }
        Ok(levels)
    }
}

impl fmt::Display for Levels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.client, "client"),
            (self.chain, "chain"),
            (self.location, "location"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name)
        .collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_any_order_and_print_in_checking_order() {
        let levels: Levels = "location, client".parse().unwrap();
        assert_eq!(levels.to_string(), "client,location");
        assert_eq!(Levels::default().to_string(), "chain");
        assert!("".parse::<Levels>().is_err());
        assert!("chain,partner".parse::<Levels>().is_err());
    }
}
