-- Named global exception: the token is the credential, presented without a
-- tenant. Partial: consumed tokens (NULL) take no space.
CREATE UNIQUE INDEX users_invite_token_hash_key ON users (invite_token_hash)
    WHERE invite_token_hash IS NOT NULL;
