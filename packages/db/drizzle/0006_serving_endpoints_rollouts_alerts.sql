CREATE TABLE "endpoints" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"model_id" uuid NOT NULL,
	"champion_version_id" uuid,
	"candidate_version_id" uuid,
	"candidate_weight" integer DEFAULT 0 NOT NULL,
	"mode" text DEFAULT 'canary' NOT NULL,
	"feature_view_name" text,
	"feature_view_version" integer,
	"slo" jsonb NOT NULL,
	"revision" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "endpoints_project_name_unique" UNIQUE("project_id","name"),
	CONSTRAINT "endpoints_project_id_unique" UNIQUE("project_id","id"),
	CONSTRAINT "endpoints_weight_range" CHECK ("endpoints"."candidate_weight" between 0 and 100),
	CONSTRAINT "endpoints_mode_known" CHECK ("endpoints"."mode" in ('canary', 'shadow'))
);
--> statement-breakpoint
CREATE TABLE "rollouts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"candidate_version_id" uuid NOT NULL,
	"champion_version_id" uuid,
	"mode" text NOT NULL,
	"state" text DEFAULT 'running' NOT NULL,
	"step" integer DEFAULT 0 NOT NULL,
	"weight" integer DEFAULT 0 NOT NULL,
	"steps" jsonb NOT NULL,
	"thresholds" jsonb NOT NULL,
	"analysis_interval_seconds" double precision NOT NULL,
	"analyses" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"reasons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"workflow_id" text NOT NULL,
	"request_id" text NOT NULL,
	"started_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "rollouts_project_request_unique" UNIQUE("project_id","request_id")
);
--> statement-breakpoint
CREATE TABLE "serving_stats" (
	"project_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"version_id" uuid NOT NULL,
	"role" text NOT NULL,
	"gateway_id" text NOT NULL,
	"second" timestamp with time zone NOT NULL,
	"requests" integer NOT NULL,
	"errors" integer NOT NULL,
	"latency_counts" jsonb NOT NULL,
	"latency_sum_ms" double precision NOT NULL,
	"prediction_counts" jsonb NOT NULL,
	"prediction_sum" double precision NOT NULL,
	"prediction_squares" double precision NOT NULL,
	CONSTRAINT "serving_stats_pk" PRIMARY KEY("endpoint_id","version_id","role","gateway_id","second")
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"source" text NOT NULL,
	"kind" text NOT NULL,
	"severity" text NOT NULL,
	"state" text DEFAULT 'firing' NOT NULL,
	"dedup_key" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"summary" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"runbook" text NOT NULL,
	"occurrences" integer DEFAULT 1 NOT NULL,
	"fired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_fired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" text,
	"resolved_at" timestamp with time zone,
	"resolved_by" text
);
--> statement-breakpoint
ALTER TABLE "endpoints" ADD CONSTRAINT "endpoints_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "endpoints" ADD CONSTRAINT "endpoints_model_fk" FOREIGN KEY ("project_id","model_id") REFERENCES "public"."models"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_endpoint_fk" FOREIGN KEY ("project_id","endpoint_id") REFERENCES "public"."endpoints"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "endpoints_updated_idx" ON "endpoints" USING btree ("updated_at");--> statement-breakpoint
CREATE UNIQUE INDEX "rollouts_one_active_per_endpoint" ON "rollouts" USING btree ("endpoint_id") WHERE "rollouts"."state" in ('running', 'awaiting_approval', 'paused');--> statement-breakpoint
CREATE INDEX "rollouts_project_created_idx" ON "rollouts" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "serving_stats_endpoint_second_idx" ON "serving_stats" USING btree ("project_id","endpoint_id","second");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_one_open_per_dedup_key" ON "alerts" USING btree ("project_id","dedup_key") WHERE "alerts"."state" <> 'resolved';--> statement-breakpoint
CREATE INDEX "alerts_project_fired_idx" ON "alerts" USING btree ("project_id","fired_at");--> statement-breakpoint
-- Gateways poll revision to pick up endpoint changes; bumping it here means no writer can forget.
CREATE FUNCTION endpoints_bump_revision() RETURNS trigger AS $$
BEGIN
  NEW.revision := OLD.revision + 1;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER endpoints_bump_revision BEFORE UPDATE ON endpoints
  FOR EACH ROW EXECUTE FUNCTION endpoints_bump_revision();
