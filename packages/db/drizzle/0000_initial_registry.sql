CREATE TYPE "public"."model_version_state" AS ENUM('registered', 'validating', 'validated', 'rejected', 'canary', 'production', 'archived', 'rolled_back', 'failed');--> statement-breakpoint
CREATE TABLE "projects" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "projects_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "model_aliases" (
	"project_id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"alias" text NOT NULL,
	"version_id" uuid NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_aliases_pk" PRIMARY KEY("model_id","alias")
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"state" "model_version_state" DEFAULT 'registered' NOT NULL,
	"artifact_uri" text NOT NULL,
	"artifact_sha256" text NOT NULL,
	"format" text DEFAULT 'onnx' NOT NULL,
	"mlflow_run_id" text,
	"training_set_id" uuid,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"evaluation" jsonb,
	"reference_profile" jsonb,
	"failure_reason" text,
	"request_id" text,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_versions_model_version_unique" UNIQUE("model_id","version"),
	CONSTRAINT "model_versions_project_request_unique" UNIQUE("project_id","request_id"),
	CONSTRAINT "model_versions_project_model_id_unique" UNIQUE("project_id","model_id","id"),
	CONSTRAINT "model_versions_version_positive" CHECK ("model_versions"."version" > 0),
	CONSTRAINT "model_versions_sha256_hex" CHECK ("model_versions"."artifact_sha256" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"task" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "models_project_name_unique" UNIQUE("project_id","name"),
	CONSTRAINT "models_project_id_unique" UNIQUE("project_id","id")
);
--> statement-breakpoint
CREATE TABLE "lineage_edges" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"from_kind" text NOT NULL,
	"from_id" text NOT NULL,
	"to_kind" text NOT NULL,
	"to_id" text NOT NULL,
	"relation" text NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "lineage_edges_edge_unique" UNIQUE("project_id","from_kind","from_id","to_kind","to_id","relation"),
	CONSTRAINT "lineage_edges_no_self_loop" CHECK (not ("lineage_edges"."from_kind" = "lineage_edges"."to_kind" and "lineage_edges"."from_id" = "lineage_edges"."to_id"))
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"project_id" uuid NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"before" jsonb,
	"after" jsonb,
	"request_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_version_fk" FOREIGN KEY ("project_id","model_id","version_id") REFERENCES "public"."model_versions"("project_id","model_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_fk" FOREIGN KEY ("project_id","model_id") REFERENCES "public"."models"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lineage_edges" ADD CONSTRAINT "lineage_edges_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "model_aliases_version_idx" ON "model_aliases" USING btree ("version_id");--> statement-breakpoint
CREATE INDEX "model_versions_project_state_idx" ON "model_versions" USING btree ("project_id","state");--> statement-breakpoint
CREATE INDEX "lineage_edges_to_idx" ON "lineage_edges" USING btree ("project_id","to_kind","to_id");--> statement-breakpoint
CREATE INDEX "audit_events_project_created_idx" ON "audit_events" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "audit_events_subject_idx" ON "audit_events" USING btree ("project_id","subject_kind","subject_id");