/**
 * PostgreSQL step 0003: `recordRelease` as one server-side function, so a key release is one round
 * trip and one commit (the request's nonce included), and the grant's row lock — which serialises
 * every release under one grant, across brokers — is held only from its UPDATE (the last step) to
 * the commit. A refusal raises SQLSTATE OVS01 with the reason as its message: the statement, hence
 * everything it wrote, is rolled back.
 */
export const RECORD_RELEASE_FUNCTION = {
  id: '0003-record-release-function',
  sql: `
CREATE FUNCTION ovseal_record_release(
  p_grant TEXT, p_device TEXT, p_now BIGINT, p_request TEXT, p_nonce TEXT, p_nonce_expires BIGINT,
  a_at BIGINT, a_actor TEXT, a_action TEXT, a_outcome TEXT, a_device TEXT, a_model TEXT, a_grant TEXT, a_reason TEXT, a_remote TEXT
) RETURNS TABLE (outcome TEXT, grant_row JSONB) LANGUAGE plpgsql AS $$
DECLARE
  counted grants;
  cap INTEGER;
BEGIN
  IF p_nonce IS NOT NULL THEN
    -- The request's single use, in the release's commit: a replay to any broker finds it taken.
    INSERT INTO used_nonces (nonce, device_id, expires_at) VALUES (p_nonce, p_device, p_nonce_expires) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'OVS01', MESSAGE = 'replayed';
    END IF;
  END IF;
  IF p_request IS NOT NULL THEN
    -- A retry of a counted request (here or on another broker) waits on this key, then counts nothing.
    INSERT INTO release_requests (device_id, request_id, grant_id, model_id, at) VALUES (p_device, p_request, p_grant, COALESCE(a_model, ''), p_now)
      ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'repeated'::TEXT, to_jsonb(g) FROM grants g WHERE g.id = p_grant;
      RETURN;
    END IF;
  END IF;
  SELECT max_releases_per_device INTO cap FROM grants WHERE id = p_grant;
  IF cap IS NOT NULL AND cap < 1 THEN
    RAISE EXCEPTION USING ERRCODE = 'OVS01', MESSAGE = 'device_releases_exhausted';
  END IF;
  -- This device's count first: its row is contended by this device only.
  INSERT INTO grant_device_releases AS r (grant_id, device_id, releases) VALUES (p_grant, p_device, 1)
    ON CONFLICT (grant_id, device_id) DO UPDATE SET releases = r.releases + 1 WHERE cap IS NULL OR r.releases < cap;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'OVS01', MESSAGE = 'device_releases_exhausted';
  END IF;
  INSERT INTO audit (at, actor, action, outcome, device_id, model_id, grant_id, reason, remote)
    VALUES (a_at, a_actor, a_action, a_outcome, a_device, a_model, a_grant, a_reason, a_remote);
  -- Last: the grant's row lock, held from here to the commit. Concurrent releases wait for it and
  -- re-check the guard on the row the previous one committed: no lost update, no overshoot.
  UPDATE grants SET releases = releases + 1
    WHERE id = p_grant AND revoked_at IS NULL AND not_after > p_now AND releases < max_releases
    RETURNING * INTO counted;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'OVS01', MESSAGE = 'releases_exhausted';
  END IF;
  RETURN QUERY SELECT 'ok'::TEXT, to_jsonb(counted);
END
$$;
`,
} as const;
