//! `POST /v1/users/{id}/resend-invite`: every status the contract lists,
//! token rotation, the limits, and the limits under concurrency.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{
    Backend, assert_error, json_ok, on_both_backends, random_id, send_all, spawn_app,
    spawn_app_with,
};

on_both_backends!(resend_answers_200_and_mails_a_new_token_that_replaces_the_old_one);
async fn resend_answers_200_and_mails_a_new_token_that_replaces_the_old_one(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let (id, old) = app.invite_with_token(&c, "ada@example.com").await;

    let body = json_ok(app.resend(&c, &id).await, 200).await;
    assert_eq!(body, json!({ "message": "Invite resent." }));

    let new = app
        .new_token("ada@example.com", 2, std::slice::from_ref(&old))
        .await;
    assert_ne!(new, old);
    assert_error(app.accept(&old).await, 400, "invalid_token").await;
    let accepted = json_ok(app.accept(&new).await, 200).await;
    assert_eq!(accepted["user_id"], id.as_str());
}

on_both_backends!(resend_answers_404_user_not_found_for_an_unknown_id);
async fn resend_answers_404_user_not_found_for_an_unknown_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let body = assert_error(app.resend(&c, &random_id()).await, 404, "not_found").await;
    assert_eq!(body["message"], "User not found.");
}

on_both_backends!(a_user_of_another_tenant_answers_exactly_like_a_missing_one);
async fn a_user_of_another_tenant_answers_exactly_like_a_missing_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let mine = app.admin("Mine").await;
    let theirs = app.admin("Theirs").await;
    let their_user = app.invite_id(&theirs, "bob@example.com").await;

    let foreign = assert_error(app.resend(&mine, &their_user).await, 404, "not_found").await;
    let missing = assert_error(app.resend(&mine, &random_id()).await, 404, "not_found").await;
    assert_eq!(foreign, missing);
    let read_foreign = assert_error(app.get_user(&mine, &their_user).await, 404, "not_found").await;
    assert_eq!(read_foreign, missing);
}

on_both_backends!(resend_answers_409_already_verified_after_the_user_accepted);
async fn resend_answers_409_already_verified_after_the_user_accepted(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let (id, token) = app.invite_with_token(&c, "ada@example.com").await;
    json_ok(app.accept(&token).await, 200).await;

    let body = assert_error(app.resend(&c, &id).await, 409, "already_verified").await;
    assert_eq!(body["message"], "User is already verified.");
    app.assert_emails_to("ada@example.com", 1).await;
}

on_both_backends!(resend_answers_429_inside_the_cooldown_with_retry_after_and_200_once_it_is_over);
async fn resend_answers_429_inside_the_cooldown_with_retry_after_and_200_once_it_is_over(
    backend: Backend,
) {
    let app = spawn_app(backend).await; // cooldown 60 s; the invite itself is a send
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;

    let retry_after = |body: serde_json::Value| body["details"]["retry_after_seconds"].as_u64();
    let body = assert_error(app.resend(&c, &id).await, 429, "rate_limited").await;
    assert_eq!(retry_after(body), Some(60), "the whole cooldown is left");
    app.clock.advance(Duration::from_millis(40_500));
    let body = assert_error(app.resend(&c, &id).await, 429, "rate_limited").await;
    assert_eq!(retry_after(body), Some(20), "19.5 s left, rounded up");
    app.clock.advance(Duration::from_millis(19_499));
    let body = assert_error(app.resend(&c, &id).await, 429, "rate_limited").await;
    assert_eq!(retry_after(body), Some(1), "never 0 while refused");
    app.assert_emails_to("ada@example.com", 1).await;
    assert_eq!(app.user(&c, &id).await["invite"]["sends"], 1);

    app.clock.advance(Duration::from_millis(1));
    json_ok(app.resend(&c, &id).await, 200).await;
    app.assert_emails_to("ada@example.com", 2).await;
    assert_eq!(app.user(&c, &id).await["invite"]["sends"], 2);
}

on_both_backends!(resend_answers_429_after_the_daily_cap_counting_the_invite_as_a_send);
async fn resend_answers_429_after_the_daily_cap_counting_the_invite_as_a_send(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.resend_cooldown = Duration::ZERO;
        c.resend_daily_limit = 2;
    })
    .await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    app.clock.advance(Duration::from_secs(3600));

    json_ok(app.resend(&c, &id).await, 200).await;
    let body = assert_error(app.resend(&c, &id).await, 429, "rate_limited").await;
    let secs = body["details"]["retry_after_seconds"].as_u64().unwrap();
    // The invite, an hour ago, leaves the rolling 24 hours in 23 hours.
    assert_eq!(secs, 23 * 3600);
    app.assert_emails_to("ada@example.com", 2).await;

    // Then one more send fits, and the cap holds again.
    app.clock.advance(Duration::from_secs(23 * 3600));
    json_ok(app.resend(&c, &id).await, 200).await;
    assert_error(app.resend(&c, &id).await, 429, "rate_limited").await;
    app.assert_emails_to("ada@example.com", 3).await;
}

on_both_backends!(an_expired_invite_is_refused_with_410_and_can_be_resent);
async fn an_expired_invite_is_refused_with_410_and_can_be_resent(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let (id, old) = app.invite_with_token(&c, "ada@example.com").await;
    // The default lifetime is 7 days: the token has expired at that moment.
    app.clock.advance(Duration::from_secs(7 * 86_400));
    assert_error(app.accept(&old).await, 410, "invite_expired").await;

    json_ok(app.resend(&c, &id).await, 200).await;
    let new = app.new_token("ada@example.com", 2, &[old]).await;
    let accepted = json_ok(app.accept(&new).await, 200).await;
    assert_eq!(accepted["user_id"], id.as_str());
}

on_both_backends!(upper_case_uuids_are_accepted_and_ids_come_back_in_lower_case);
async fn upper_case_uuids_are_accepted_and_ids_come_back_in_lower_case(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let mut c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    assert_eq!(id, id.to_lowercase());
    c.tenant = c.tenant.to_uppercase();
    let upper = id.to_uppercase();
    assert_ne!(upper, id);

    json_ok(app.resend(&c, &upper).await, 200).await;
    let user = app.user(&c, &upper).await;
    assert_eq!(user["id"], id.as_str());
    let page = json_ok(app.list(&c, "").await, 200).await;
    assert_eq!(page["items"][0]["id"], id.as_str());
}

on_both_backends!(of_simultaneous_resends_inside_the_cooldown_exactly_one_succeeds);
async fn of_simultaneous_resends_inside_the_cooldown_exactly_one_succeeds(backend: Backend) {
    let app = spawn_app(backend).await; // cooldown 60 s
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    app.clock.advance(Duration::from_secs(60));

    let responses = send_all((0..16).map(|_| app.resend_req(&c, &id))).await;
    let mut ok = 0;
    for resp in responses {
        match resp.status().as_u16() {
            200 => ok += 1,
            _ => {
                assert_error(resp, 429, "rate_limited").await;
            }
        }
    }
    assert_eq!(ok, 1, "exactly one of 16 resends succeeds");
    app.assert_emails_to("ada@example.com", 2).await;
    assert_eq!(app.user(&c, &id).await["invite"]["sends"], 2);
}

on_both_backends!(of_simultaneous_resends_no_more_succeed_than_the_daily_cap_allows);
async fn of_simultaneous_resends_no_more_succeed_than_the_daily_cap_allows(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.resend_cooldown = Duration::ZERO;
        c.resend_daily_limit = 3;
    })
    .await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;

    let responses = send_all((0..16).map(|_| app.resend_req(&c, &id))).await;
    let mut ok = 0;
    for resp in responses {
        if resp.status() == 200 {
            ok += 1;
        } else {
            assert_error(resp, 429, "rate_limited").await;
        }
    }
    assert_eq!(ok, 2, "the invite and two resends make the cap of 3");
    app.assert_emails_to("ada@example.com", 3).await;
    assert_eq!(app.user(&c, &id).await["invite"]["sends"], 3);
}
