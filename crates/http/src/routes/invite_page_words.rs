//! The `/invite` pages' sentences in each locale, and the browser's choice
//! of language for the pages that know no tenant. Compiled in; values come
//! in escaped.

use beckon_ports::Locale;

/// A page's title and its body (HTML, ours only).
pub(super) type Page = (&'static str, &'static str);

/// One locale's sentences.
pub(super) struct Words {
    /// The invitation's title, given the tenant's name.
    pub join: fn(&str) -> String,
    /// Who invites, given the tenant's name (already in `<strong>`).
    pub invited_by: fn(&str) -> String,
    /// Until when, given the date.
    pub valid_until: fn(&str) -> String,
    /// The button.
    pub button: &'static str,
    /// After the button: accepted.
    pub accepted: Page,
    /// Unknown, replaced or used token.
    pub invalid: Page,
    /// Revoked.
    pub withdrawn: Page,
    /// Expired.
    pub expired: Page,
    /// The database could not be reached.
    pub unavailable: Page,
    /// Anything else.
    pub unexpected: Page,
}

/// The sentences of `locale`.
pub(super) fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::En => &EN,
        Locale::De => &DE,
        Locale::Fr => &FR,
    }
}

/// The locale a browser asks for in `Accept-Language`: the supported one
/// with the highest weight (the first of equals), English when it names
/// none of them. Regions are ignored (`de-CH` is `de`).
pub(super) fn from_accept_language(header: Option<&str>) -> Locale {
    let mut best: Option<(Locale, f32)> = None;
    for item in header.unwrap_or_default().split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let primary = tag.split('-').next().unwrap_or_default();
        let Some(locale) = Locale::parse(&primary.to_ascii_lowercase()) else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((locale, q));
        }
    }
    best.map_or(Locale::En, |(l, _)| l)
}

static EN: Words = Words {
    join: |t| format!("Join {t}"),
    invited_by: |t| format!("{t} has invited you to join."),
    valid_until: |d| format!("This invitation is valid until {d}."),
    button: "Accept invitation",
    accepted: (
        "Invitation accepted",
        "<p>Your invitation is accepted and your account is active.</p>\
         <p>You can close this page.</p>",
    ),
    invalid: (
        "This invitation link does not work",
        "<p>This link is not valid. It may have been replaced by a newer invitation \
         email, or it was already used.</p>\
         <p>Look for the most recent invitation email, or ask whoever invited you to send a new one.</p>",
    ),
    withdrawn: (
        "This invitation was withdrawn",
        "<p>Whoever invited you has withdrawn this invitation, so the link no longer works.</p>\
         <p>If you still expect to join, ask them to invite you again.</p>",
    ),
    expired: (
        "This invitation has expired",
        "<p>This invitation is too old to use.</p>\
         <p>Ask whoever invited you to send a new one.</p>",
    ),
    unavailable: (
        "Please try again in a moment",
        "<p>We could not reach our database just now. Nothing was changed; \
         please try again in a minute.</p>",
    ),
    unexpected: (
        "Something went wrong",
        "<p>Something went wrong on our side. Please try again later.</p>",
    ),
};

// Formal address ("Sie").
static DE: Words = Words {
    join: |t| format!("Einladung zu {t}"),
    invited_by: |t| format!("{t} hat Sie eingeladen."),
    valid_until: |d| format!("Diese Einladung ist bis zum {d} gültig."),
    button: "Einladung annehmen",
    accepted: (
        "Einladung angenommen",
        "<p>Sie haben die Einladung angenommen, Ihr Konto ist jetzt aktiv.</p>\
         <p>Sie können diese Seite schließen.</p>",
    ),
    invalid: (
        "Dieser Einladungslink funktioniert nicht",
        "<p>Dieser Link ist nicht gültig. Vielleicht wurde er durch eine neuere \
         Einladungs-E-Mail ersetzt, oder er wurde bereits verwendet.</p>\
         <p>Suchen Sie nach der neuesten Einladungs-E-Mail, oder bitten Sie die Person, \
         die Sie eingeladen hat, um eine neue Einladung.</p>",
    ),
    withdrawn: (
        "Diese Einladung wurde zurückgezogen",
        "<p>Die Person, die Sie eingeladen hat, hat die Einladung zurückgezogen. \
         Der Link funktioniert deshalb nicht mehr.</p>\
         <p>Wenn Sie weiterhin beitreten möchten, bitten Sie um eine neue Einladung.</p>",
    ),
    expired: (
        "Diese Einladung ist abgelaufen",
        "<p>Diese Einladung ist nicht mehr gültig.</p>\
         <p>Bitten Sie die Person, die Sie eingeladen hat, um eine neue Einladung.</p>",
    ),
    unavailable: (
        "Bitte versuchen Sie es gleich noch einmal",
        "<p>Unsere Datenbank ist gerade nicht erreichbar. Es wurde nichts geändert; \
         bitte versuchen Sie es in einer Minute erneut.</p>",
    ),
    unexpected: (
        "Etwas ist schiefgelaufen",
        "<p>Bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es später noch einmal.</p>",
    ),
};

// "Vous", sentences that do not need the reader's gender, and a no-break
// space before ";" and ":" as French typography has it.
static FR: Words = Words {
    join: |t| format!("Rejoindre {t}"),
    invited_by: |t| format!("{t} vous a envoyé une invitation."),
    valid_until: |d| format!("Cette invitation est valable jusqu’au {d}."),
    button: "Accepter l’invitation",
    accepted: (
        "Invitation acceptée",
        "<p>Votre invitation est acceptée et votre compte est actif.</p>\
         <p>Vous pouvez fermer cette page.</p>",
    ),
    invalid: (
        "Ce lien d’invitation ne fonctionne pas",
        "<p>Ce lien n’est pas valide. Il a peut-être été remplacé par un e-mail \
         d’invitation plus récent, ou il a déjà été utilisé.</p>\
         <p>Cherchez l’e-mail d’invitation le plus récent, ou demandez à la personne \
         qui vous a envoyé l’invitation de vous en envoyer une nouvelle.</p>",
    ),
    withdrawn: (
        "Cette invitation a été retirée",
        "<p>La personne qui vous a envoyé cette invitation l’a retirée\u{a0}; \
         le lien ne fonctionne donc plus.</p>\
         <p>Si vous souhaitez toujours rejoindre l’organisation, demandez une nouvelle invitation.</p>",
    ),
    expired: (
        "Cette invitation a expiré",
        "<p>Cette invitation n’est plus valable.</p>\
         <p>Demandez à la personne qui vous a envoyé l’invitation de vous en envoyer une nouvelle.</p>",
    ),
    unavailable: (
        "Veuillez réessayer dans un instant",
        "<p>Notre base de données est momentanément injoignable. Rien n’a été modifié\u{a0}; \
         veuillez réessayer dans une minute.</p>",
    ),
    unexpected: (
        "Une erreur est survenue",
        "<p>Une erreur est survenue de notre côté. Veuillez réessayer plus tard.</p>",
    ),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_language_picks_the_best_supported_locale() {
        for (header, want) in [
            (None, Locale::En),
            (Some(""), Locale::En),
            (Some("es, it;q=0.8"), Locale::En),
            (Some("de-CH, en;q=0.5"), Locale::De),
            (Some("en-GB;q=0.7, fr;q=0.9"), Locale::Fr),
            (Some("FR-ca"), Locale::Fr),
            (Some("de;q=0, fr;q=0.1"), Locale::Fr),
            (Some("de;q=abc"), Locale::De),
            (Some("*"), Locale::En),
            (Some("en, de"), Locale::En),
        ] {
            assert_eq!(from_accept_language(header), want, "{header:?}");
        }
    }
}
