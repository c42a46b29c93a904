//! The invite email's sentences in each locale. Compiled in; values are
//! passed in already made safe for where they go (escaped for HTML), so a
//! sentence never escapes anything itself.

use beckon_ports::Locale;

/// One locale's sentences.
pub(crate) struct Words {
    /// The subject, given the tenant's name.
    pub subject: fn(&str) -> String,
    /// The first line, given the person's name if known.
    pub greeting: fn(Option<&str>) -> String,
    /// Who invites, given the tenant's name.
    pub invited: fn(&str) -> String,
    /// Leads to the link in the plain-text part.
    pub open_link: &'static str,
    /// Until when the link works, given the date and the tenant's name.
    pub until: fn(&str, &str) -> String,
    /// For whoever did not expect the email.
    pub ignore: &'static str,
    /// The HTML part's button.
    pub button: &'static str,
    /// Leads to the link below the button.
    pub copy_link: &'static str,
}

/// The sentences of `locale`.
pub(crate) fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::En => &EN,
        Locale::De => &DE,
        Locale::Fr => &FR,
    }
}

static EN: Words = Words {
    subject: |t| format!("You're invited to join {t}"),
    greeting: |n| match n {
        Some(n) => format!("Hello {n},"),
        None => "Hello,".to_owned(),
    },
    invited: |t| format!("You have been invited to join {t}."),
    open_link: "To accept the invitation, open this link:",
    until: |d, t| {
        format!("The link works until {d}. If it has expired, ask {t} to send a new invitation.")
    },
    ignore: "If you were not expecting this invitation, you can ignore this email.",
    button: "Accept invitation",
    copy_link: "If the button does not work, copy this link into your browser:",
};

// Formal address ("Sie"), as in business email.
static DE: Words = Words {
    subject: |t| format!("Ihre Einladung zu {t}"),
    greeting: |n| match n {
        Some(n) => format!("Guten Tag {n},"),
        None => "Guten Tag,".to_owned(),
    },
    invited: |t| format!("Sie wurden eingeladen, {t} beizutreten."),
    open_link: "Um die Einladung anzunehmen, öffnen Sie bitte diesen Link:",
    until: |d, t| {
        format!(
            "Der Link ist bis zum {d} gültig. Ist er abgelaufen, bitten Sie {t} um eine neue Einladung."
        )
    },
    ignore: "Falls Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.",
    button: "Einladung annehmen",
    copy_link: "Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:",
};

// "Vous"; a no-break space before the colon, as French typography has it;
// sentences that do not need the reader's gender.
static FR: Words = Words {
    subject: |t| format!("Invitation à rejoindre {t}"),
    greeting: |n| match n {
        Some(n) => format!("Bonjour {n},"),
        None => "Bonjour,".to_owned(),
    },
    invited: |t| format!("Vous avez reçu une invitation à rejoindre {t}."),
    open_link: "Pour accepter l’invitation, ouvrez ce lien\u{a0}:",
    until: |d, t| {
        format!(
            "Le lien est valable jusqu’au {d}. S’il a expiré, demandez à {t} de vous envoyer une nouvelle invitation."
        )
    },
    ignore: "Si vous n’attendiez pas cette invitation, vous pouvez ignorer cet e-mail.",
    button: "Accepter l’invitation",
    copy_link: "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur\u{a0}:",
};
