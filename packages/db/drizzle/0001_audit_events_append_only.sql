-- Audit history is evidence: refuse UPDATE, DELETE and TRUNCATE on audit_events at the database,
-- whatever code (or person) is connected.
CREATE FUNCTION "shepherd_reject_audit_mutation"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
		USING ERRCODE = 'restrict_violation';
END;
$$;--> statement-breakpoint
CREATE TRIGGER "audit_events_no_update_delete"
	BEFORE UPDATE OR DELETE ON "audit_events"
	FOR EACH ROW EXECUTE FUNCTION "shepherd_reject_audit_mutation"();--> statement-breakpoint
CREATE TRIGGER "audit_events_no_truncate"
	BEFORE TRUNCATE ON "audit_events"
	FOR EACH STATEMENT EXECUTE FUNCTION "shepherd_reject_audit_mutation"();
