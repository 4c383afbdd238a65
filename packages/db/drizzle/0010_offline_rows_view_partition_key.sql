ALTER TABLE "feature_offline_rows" DROP CONSTRAINT "feature_offline_rows_view_fk";
--> statement-breakpoint
ALTER TABLE "feature_offline_rows" DROP CONSTRAINT "feature_offline_rows_pk";
--> statement-breakpoint
ALTER TABLE "feature_offline_rows" ADD CONSTRAINT "feature_offline_rows_pk" PRIMARY KEY("view_id","partition","kafka_offset");--> statement-breakpoint
-- (project_id, view_id) of offline rows must name a feature view. A foreign key checked that once
-- per row (a lookup and a row lock on the view for every event ingested); these check each
-- statement's rows at once, take the same KEY SHARE lock on the views they name (so a view can't
-- be deleted under a running insert), and refuse to delete or re-key a view that has offline rows.
CREATE FUNCTION "shepherd_check_offline_rows_view"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	named bigint;
	found bigint;
BEGIN
	SELECT count(*) INTO named FROM (SELECT DISTINCT project_id, view_id FROM new_rows) AS n;
	SELECT count(*) INTO found FROM (
		SELECT 1 FROM "feature_views" AS v
		WHERE (v.project_id, v.id) IN (SELECT DISTINCT project_id, view_id FROM new_rows)
		FOR KEY SHARE OF v
	) AS locked;
	IF found <> named THEN
		RAISE EXCEPTION 'feature_offline_rows: (project_id, view_id) must name a feature view'
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "feature_offline_rows_view_check_insert"
	AFTER INSERT ON "feature_offline_rows" REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION "shepherd_check_offline_rows_view"();--> statement-breakpoint
CREATE TRIGGER "feature_offline_rows_view_check_update"
	AFTER UPDATE ON "feature_offline_rows" REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION "shepherd_check_offline_rows_view"();--> statement-breakpoint
CREATE FUNCTION "shepherd_keep_viewed_offline_rows"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND (NEW.project_id, NEW.id) IS NOT DISTINCT FROM (OLD.project_id, OLD.id) THEN
		RETURN NULL;
	END IF;
	IF EXISTS (SELECT 1 FROM "feature_offline_rows" WHERE view_id = OLD.id AND project_id = OLD.project_id) THEN
		RAISE EXCEPTION 'feature view % has offline rows: % is not allowed', OLD.id, TG_OP
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NULL;
END;
$$;--> statement-breakpoint
-- AFTER, as a foreign key's own check: by then the view's row is locked, so an insert that still
-- holds it has committed and its rows are seen.
CREATE TRIGGER "feature_views_keep_offline_rows"
	AFTER UPDATE OR DELETE ON "feature_views"
	FOR EACH ROW EXECUTE FUNCTION "shepherd_keep_viewed_offline_rows"();
