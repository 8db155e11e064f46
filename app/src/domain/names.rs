//! Values that are checked once, where they enter, and trusted after ("parse, don't validate"):
//! usernames, e-mail addresses and roles. One rule each, for every surface (new passwords, whose
//! rule differs by surface, are in `passwords`).

use super::DomainError;

pub const USERNAME_MAX_CHARS: usize = 20;
pub const EMAIL_MAX_CHARS: usize = 254;
pub const DISPLAY_NAME_MAX_CHARS: usize = 50;

/// Characters the ChatCLI reference refuses in a username (it splits commands on some of them).
const USERNAME_FORBIDDEN: &str = "\"%'()*+,/:;<=>?@[\\]^{|}~`";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 {
            return Err(DomainError::invalid("username", "Username is required."));
        }
        if chars > USERNAME_MAX_CHARS {
            return Err(DomainError::invalid(
                "username",
                format!("Username must be at most {USERNAME_MAX_CHARS} characters."),
            ));
        }
        if let Some(bad) = name.chars().find(|c| c.is_whitespace() || c.is_control() || USERNAME_FORBIDDEN.contains(*c))
        {
            let shown = if bad.is_whitespace() { "a space".to_string() } else { format!("'{bad}'") };
            return Err(DomainError::invalid("username", format!("Username cannot contain {shown}.")));
        }
        Ok(Username(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form names are compared in: unique ignoring case.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

pub fn username_key(name: &str) -> String {
    name.trim().to_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let email = raw.trim();
        let invalid = || DomainError::invalid("email", "Enter a valid email address.");
        if email.is_empty() {
            return Err(DomainError::invalid("email", "Email is required."));
        }
        if email.chars().count() > EMAIL_MAX_CHARS {
            return Err(DomainError::invalid("email", format!("Email must be at most {EMAIL_MAX_CHARS} characters.")));
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
        if !well_formed {
            return Err(invalid());
        }
        Ok(Email(email.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        email_key(&self.0)
    }
}

pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An optional human name shown instead of the username (nchat's `displayName`).
pub fn parse_display_name(raw: Option<&str>) -> Result<Option<String>, DomainError> {
    let Some(name) = raw.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(DomainError::invalid(
            "displayName",
            format!("Display name must be at most {DISPLAY_NAME_MAX_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid("displayName", "Display name cannot contain control characters."));
    }
    Ok(Some(name.to_string()))
}

/// Server-wide roles, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Owner,
    Admin,
    Moderator,
    Member,
    Guest,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Moderator, Role::Member, Role::Guest];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Member => "member",
            Role::Guest => "guest",
        }
    }

    pub fn parse(raw: &str) -> Result<Role, DomainError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| DomainError::invalid("role", "Role must be one of owner, admin, moderator, member, guest."))
    }

    /// True when this role has at least the powers of `other` (owner > admin > ... > guest).
    pub fn at_least(self, other: Role) -> bool {
        self <= other
    }
}

/// The `role` column reads as a `Role`; a value this version does not know is a guest, the
/// least power, rather than an error.
impl sqlx::Type<sqlx::Any> for Role {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Role {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let stored = <String as sqlx::Decode<sqlx::Any>>::decode(value)?;
        Ok(Role::parse(&stored).unwrap_or(Role::Guest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_reference_rules() {
        assert!(Username::parse("alice_1-x.y").is_ok());
        assert_eq!(Username::parse("  Bob ").unwrap().key(), "bob");
        for bad in ["", "   ", "a b", "al@ce", "x/y", "semi;colon", "q?", "123456789012345678901"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Username::parse("12345678901234567890").is_ok());
        assert!(Username::parse("ünïcødé").is_ok());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("a@b.co").is_ok());
        for bad in ["", "nobody", "@b.co", "a@b", "a@.b", "a@b.", "a b@c.de", "a@b@c.de"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn roles_order_from_owner_down() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(Role::Moderator.at_least(Role::Member));
        assert!(!Role::Guest.at_least(Role::Member));
        assert_eq!(Role::parse("ADMIN").unwrap(), Role::Admin);
        assert!(Role::parse("root").is_err());
    }

    #[tokio::test]
    async fn a_stored_role_reads_back_and_an_unknown_one_reads_as_guest() {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect("sqlite::memory:").await.expect("an in-memory SQLite database");
        let read = |sql| sqlx::query_scalar::<_, Role>(sql);
        assert_eq!(read("SELECT 'moderator'").fetch_one(&mut db).await.expect("a role"), Role::Moderator);
        assert_eq!(read("SELECT 'root'").fetch_one(&mut db).await.expect("a role"), Role::Guest);
    }
}
