CREATE TABLE "feature_parity_monitors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"view_name" text NOT NULL,
	"state" text DEFAULT 'running' NOT NULL,
	"config" jsonb NOT NULL,
	"workflow_id" text NOT NULL,
	"started_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"stopped_at" timestamp with time zone,
	CONSTRAINT "feature_parity_monitors_view_unique" UNIQUE("project_id","view_name")
);
--> statement-breakpoint
ALTER TABLE "feature_parity_monitors" ADD CONSTRAINT "feature_parity_monitors_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;