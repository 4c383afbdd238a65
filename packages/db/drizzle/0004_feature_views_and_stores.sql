CREATE TABLE "feature_ingestion_progress" (
	"project_id" uuid NOT NULL,
	"view_id" uuid NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"last_offset" bigint NOT NULL,
	"events_ingested" bigint DEFAULT 0 NOT NULL,
	"dlq_count" bigint DEFAULT 0 NOT NULL,
	"last_event_time" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_ingestion_progress_pk" PRIMARY KEY("view_id","topic","partition")
);
--> statement-breakpoint
CREATE TABLE "feature_offline_rows" (
	"project_id" uuid NOT NULL,
	"view_id" uuid NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"kafka_offset" bigint NOT NULL,
	"entity_id" text NOT NULL,
	"event_time" timestamp with time zone NOT NULL,
	"values" jsonb NOT NULL,
	"aggregates" jsonb NOT NULL,
	"ingested_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_offline_rows_pk" PRIMARY KEY("view_id","topic","partition","kafka_offset")
);
--> statement-breakpoint
CREATE TABLE "feature_online_rows" (
	"project_id" uuid NOT NULL,
	"view_id" uuid NOT NULL,
	"entity_id" text NOT NULL,
	"event_time" timestamp with time zone NOT NULL,
	"values" jsonb NOT NULL,
	"aggregates" jsonb NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"kafka_offset" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_online_rows_pk" PRIMARY KEY("view_id","entity_id")
);
--> statement-breakpoint
CREATE TABLE "feature_views" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"source_topic" text NOT NULL,
	"definition" jsonb NOT NULL,
	"definition_hash" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_views_project_name_version_unique" UNIQUE("project_id","name","version"),
	CONSTRAINT "feature_views_project_id_unique" UNIQUE("project_id","id")
);
--> statement-breakpoint
ALTER TABLE "feature_ingestion_progress" ADD CONSTRAINT "feature_ingestion_progress_view_fk" FOREIGN KEY ("project_id","view_id") REFERENCES "public"."feature_views"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_offline_rows" ADD CONSTRAINT "feature_offline_rows_view_fk" FOREIGN KEY ("project_id","view_id") REFERENCES "public"."feature_views"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_online_rows" ADD CONSTRAINT "feature_online_rows_view_fk" FOREIGN KEY ("project_id","view_id") REFERENCES "public"."feature_views"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_views" ADD CONSTRAINT "feature_views_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "feature_offline_rows_entity_time_idx" ON "feature_offline_rows" USING btree ("view_id","entity_id","event_time");