CREATE TYPE "public"."training_run_state" AS ENUM('running', 'succeeded', 'rejected', 'failed');--> statement-breakpoint
CREATE TABLE "training_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"request_id" text NOT NULL,
	"workflow_id" text NOT NULL,
	"state" "training_run_state" DEFAULT 'running' NOT NULL,
	"step" text DEFAULT 'queued' NOT NULL,
	"spec" jsonb NOT NULL,
	"training_set_id" uuid,
	"mlflow_run_id" text,
	"version_id" uuid,
	"failure_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "training_runs_project_request_unique" UNIQUE("project_id","request_id"),
	CONSTRAINT "training_runs_workflow_unique" UNIQUE("workflow_id")
);
--> statement-breakpoint
CREATE TABLE "training_sets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"source_uri" text NOT NULL,
	"train_uri" text NOT NULL,
	"train_sha256" text NOT NULL,
	"holdout_uri" text NOT NULL,
	"holdout_sha256" text NOT NULL,
	"train_rows" integer NOT NULL,
	"holdout_rows" integer NOT NULL,
	"feature_names" jsonb NOT NULL,
	"manifest" jsonb NOT NULL,
	"request_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "training_sets_project_request_unique" UNIQUE("project_id","request_id")
);
--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_model_fk" FOREIGN KEY ("project_id","model_id") REFERENCES "public"."models"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_sets" ADD CONSTRAINT "training_sets_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "training_runs_project_model_idx" ON "training_runs" USING btree ("project_id","model_id","created_at");