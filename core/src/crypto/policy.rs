//! Who may do what with which scope, for which purpose.

use std::fmt;

use serde::Deserialize;

/// An access to encrypted fields that the policy decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Seal values.
    Encrypt,
    /// Open values.
    Decrypt,
    /// Compute blind indexes (equality search without decrypting).
    Search,
    /// Make a new key version active for a scope ([`KeyAdmin::rotate`]).
    ///
    /// [`KeyAdmin::rotate`]: crate::crypto::KeyAdmin::rotate
    Rotate,
    /// Erase a key version, making its values unrecoverable
    /// ([`KeyAdmin::destroy`]).
    ///
    /// [`KeyAdmin::destroy`]: crate::crypto::KeyAdmin::destroy
    Destroy,
    /// Rewrap every data key under a new master key
    /// ([`KeyAdmin::rewrap`]); checked against the scope `*`.
    ///
    /// [`KeyAdmin::rewrap`]: crate::crypto::KeyAdmin::rewrap
    Rewrap,
}

impl Action {
    /// Every action, data access first, then key management.
    pub const ALL: [Action; 6] = [
        Action::Encrypt,
        Action::Decrypt,
        Action::Search,
        Action::Rotate,
        Action::Destroy,
        Action::Rewrap,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Encrypt => "encrypt",
            Action::Decrypt => "decrypt",
            Action::Search => "search",
            Action::Rotate => "rotate",
            Action::Destroy => "destroy",
            Action::Rewrap => "rewrap",
        }
    }

    /// Whether this action manages keys rather than accessing values.
    pub fn is_key_management(self) -> bool {
        matches!(self, Action::Rotate | Action::Destroy | Action::Rewrap)
    }
}

/// An access policy: a list of allow rules, everything else denied.
///
/// Written in TOML:
///
/// ```toml
/// [[allow]]
/// roles = ["clinician"]
/// scopes = ["patients.*"]
/// actions = ["encrypt", "decrypt", "search"]
/// purposes = ["treatment"]
///
/// [[allow]]
/// roles = ["billing"]
/// scopes = ["patients.ssn"]
/// actions = ["search"]
/// purposes = ["*"]
///
/// [[allow]]
/// roles = ["key-officer"]
/// scopes = ["*"]
/// actions = ["rotate", "rewrap"]
/// purposes = ["key-management"]
/// ```
///
/// Key management (`rotate`, `destroy`, `rewrap`) is granted like any
/// other action, and only through a [`KeyAdmin`] handle: a
/// [`FieldCipher`] cannot manage keys whatever its policy says.
///
/// [`KeyAdmin`]: crate::crypto::KeyAdmin
/// [`FieldCipher`]: crate::crypto::FieldCipher
///
/// Scope patterns match the canonical scope (`tenant/table.column` or
/// `table.column`); `*` matches any run of characters. Roles and purposes
/// match exactly, or `*` for any.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    allow: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    roles: Vec<String>,
    scopes: Vec<String>,
    actions: Vec<Action>,
    purposes: Vec<String>,
}

impl Policy {
    /// Parses a TOML policy.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = toml::from_str(text)
            .map_err(|e| PolicyError::Invalid(e.message().to_string()))?;
        for rule in &policy.allow {
            if rule.roles.is_empty()
                || rule.scopes.is_empty()
                || rule.actions.is_empty()
                || rule.purposes.is_empty()
            {
                return Err(PolicyError::Invalid(
                    "every [[allow]] rule needs non-empty roles, scopes, actions and purposes \
                     (use [\"*\"] for any)"
                        .into(),
                ));
            }
        }
        Ok(policy)
    }

    /// Allows every role every action, key management included, on every
    /// scope: for tools run by whoever holds the master key anyway (the
    /// CLI's default).
    pub fn allow_all() -> Policy {
        let any = vec!["*".to_string()];
        Policy {
            allow: vec![Rule {
                roles: any.clone(),
                scopes: any.clone(),
                actions: Action::ALL.to_vec(),
                purposes: any,
            }],
        }
    }

    /// Denies everything.
    pub fn deny_all() -> Policy {
        Policy { allow: Vec::new() }
    }

    /// Whether `role` may do `action` on `scope` for `purpose`.
    pub fn allows(
        &self,
        role: &str,
        action: Action,
        scope: &str,
        purpose: &str,
    ) -> bool {
        self.allow.iter().any(|r| {
            r.actions.contains(&action)
                && r.roles.iter().any(|x| x == "*" || x == role)
                && r.purposes.iter().any(|x| x == "*" || x == purpose)
                && r.scopes
                    .iter()
                    .any(|x| glob(x.as_bytes(), scope.as_bytes()))
        })
    }

    pub(crate) fn check(
        &self,
        role: &str,
        action: Action,
        scope: &str,
        purpose: &str,
    ) -> Result<(), PolicyError> {
        if self.allows(role, action, scope, purpose) {
            Ok(())
        } else {
            Err(PolicyError::Denied {
                role: role.to_string(),
                action,
                scope: scope.to_string(),
                purpose: purpose.to_string(),
            })
        }
    }
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if p < pat.len() && pat[p] == s[i] {
            p += 1;
            i += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

/// A policy that does not parse, or a denied access.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy file is not valid.
    Invalid(String),
    /// The policy does not allow this access.
    Denied {
        /// Role of the caller.
        role: String,
        /// What was asked.
        action: Action,
        /// Canonical scope.
        scope: String,
        /// Declared purpose.
        purpose: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Invalid(m) => write!(f, "invalid policy: {m}"),
            PolicyError::Denied { role, action, scope, purpose } => write!(
                f,
                "policy denies role {role:?} to {} scope {scope} for purpose {purpose:?}",
                action.as_str()
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(b"*", b"anything"));
        assert!(glob(b"patients.*", b"patients.ssn"));
        assert!(!glob(b"patients.*", b"visits.ssn"));
        assert!(glob(b"*/patients.ssn", b"acme/patients.ssn"));
        assert!(!glob(b"*/patients.ssn", b"patients.ssn"));
        assert!(glob(b"a*b*c", b"aXXbYYc"));
        assert!(!glob(b"a*b*c", b"aXXbYY"));
        assert!(glob(b"patients.ssn", b"patients.ssn"));
    }

    #[test]
    fn rules_allow_only_what_they_say() {
        let p = Policy::from_toml(
            r#"
            [[allow]]
            roles = ["clinician"]
            scopes = ["patients.*"]
            actions = ["decrypt", "encrypt"]
            purposes = ["treatment"]

            [[allow]]
            roles = ["billing"]
            scopes = ["patients.ssn"]
            actions = ["search"]
            purposes = ["*"]
            "#,
        )
        .unwrap();
        assert!(p.allows(
            "clinician",
            Action::Decrypt,
            "patients.ssn",
            "treatment"
        ));
        assert!(!p.allows(
            "clinician",
            Action::Decrypt,
            "patients.ssn",
            "marketing"
        ));
        assert!(!p.allows(
            "clinician",
            Action::Search,
            "patients.ssn",
            "treatment"
        ));
        assert!(!p.allows(
            "billing",
            Action::Decrypt,
            "patients.ssn",
            "billing"
        ));
        assert!(p.allows(
            "billing",
            Action::Search,
            "patients.ssn",
            "billing"
        ));
        assert!(!p.allows(
            "nurse",
            Action::Decrypt,
            "patients.ssn",
            "treatment"
        ));
        assert!(!Policy::deny_all().allows("x", Action::Encrypt, "a.b", "y"));
        // Data grants give no key management.
        for action in [Action::Rotate, Action::Destroy, Action::Rewrap] {
            assert!(!p.allows(
                "clinician",
                action,
                "patients.ssn",
                "treatment"
            ));
        }
    }

    #[test]
    fn key_management_is_granted_by_name() {
        let p = Policy::from_toml(
            r#"
            [[allow]]
            roles = ["officer"]
            scopes = ["*"]
            actions = ["rotate", "rewrap"]
            purposes = ["*"]
            "#,
        )
        .unwrap();
        assert!(p.allows("officer", Action::Rotate, "patients.ssn", "x"));
        assert!(p.allows("officer", Action::Rewrap, "*", "x"));
        assert!(!p.allows("officer", Action::Destroy, "patients.ssn", "x"));
        assert!(!p.allows("officer", Action::Decrypt, "patients.ssn", "x"));
        for a in Action::ALL {
            assert!(Policy::allow_all().allows("r", a, "t.c", "p"));
            assert_eq!(
                a.is_key_management(),
                !matches!(
                    a,
                    Action::Encrypt | Action::Decrypt | Action::Search
                )
            );
        }
    }

    #[test]
    fn invalid_policies_are_rejected() {
        assert!(Policy::from_toml("[[allow]]\nroles = []\nscopes=[\"*\"]\nactions=[\"decrypt\"]\npurposes=[\"*\"]").is_err());
        assert!(Policy::from_toml("[[allow]]\nroles=[\"*\"]\nscopes=[\"*\"]\nactions=[\"drop\"]\npurposes=[\"*\"]").is_err());
        assert!(Policy::from_toml("[[allw]]").is_err());
    }
}
