-- Offline rows keep their values and aggregates as json (text PostgreSQL has checked) rather than
-- jsonb: converting every ingested row to jsonb was about a third of what COPY cost per row, and
-- every reader takes the whole document. One statement, so the table is rewritten once.
ALTER TABLE "feature_offline_rows"
	ALTER COLUMN "values" SET DATA TYPE json USING "values"::json,
	ALTER COLUMN "aggregates" SET DATA TYPE json USING "aggregates"::json;
