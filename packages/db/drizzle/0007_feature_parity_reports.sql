CREATE TABLE "feature_parity_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"view_id" uuid NOT NULL,
	"view_name" text NOT NULL,
	"view_version" integer NOT NULL,
	"sampled" integer NOT NULL,
	"mismatched_entities" integer NOT NULL,
	"mismatch_rate" double precision NOT NULL,
	"by_field" jsonb NOT NULL,
	"mismatches" jsonb NOT NULL,
	"truncated" boolean NOT NULL,
	"checked_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "feature_parity_reports" ADD CONSTRAINT "feature_parity_reports_view_fk" FOREIGN KEY ("project_id","view_id") REFERENCES "public"."feature_views"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "feature_parity_reports_view_checked_idx" ON "feature_parity_reports" USING btree ("project_id","view_id","checked_at");