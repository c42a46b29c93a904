//! The command line (CONTRACT §2). No subcommand means `serve`.

use clap::{Parser, Subcommand};

/// Beckon: multi-tenant user invitations.
#[derive(Debug, Parser)]
#[command(name = "beckon", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and deliver queued email until SIGINT/SIGTERM.
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Manage tenants.
    Tenant {
        /// What to do with tenants.
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Manage API keys.
    #[command(name = "api-key")]
    ApiKey {
        /// What to do with API keys.
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Manage a tenant's webhook endpoint.
    Webhook {
        /// What to do with the endpoint.
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// Check or verify the policies.
    Policy {
        /// What to do with policies.
        #[command(subcommand)]
        action: PolicyAction,
    },
}

/// `beckon tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Create a tenant.
    Create {
        /// Its display name.
        #[arg(long)]
        name: String,
        /// The language of its emails and invitation pages: en, de or fr.
        #[arg(long, default_value = "en")]
        locale: String,
    },
}

/// `beckon api-key …`
#[derive(Debug, Subcommand)]
pub enum ApiKeyAction {
    /// Create an API key; its secret is printed once.
    Create {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
        /// The role (what it may do is for the policies to say).
        #[arg(long)]
        role: String,
        /// A label for operators.
        #[arg(long)]
        name: Option<String>,
    },
    /// Revoke an API key.
    Revoke {
        /// The key's id.
        #[arg(long)]
        id: String,
    },
}

/// `beckon webhook …`
#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Send the tenant's events to URL, signed with a new secret (printed
    /// once); replaces an earlier URL and secret.
    Set {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
        /// An http:// or https:// URL.
        #[arg(long)]
        url: String,
    },
    /// Stop sending the tenant's events; events still queued are dropped.
    Remove {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
    },
}

/// `beckon policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Validate the active policies against the schema.
    Check,
    /// Prove tenant isolation, no evaluation errors and viewer read-only
    /// for the active policies with the cvc5 solver (`CVC5` or `cvc5` on
    /// `PATH`); exits non-zero with a counterexample when one fails.
    Verify,
}
