CREATE TABLE "drift_monitors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"state" text DEFAULT 'running' NOT NULL,
	"config" jsonb NOT NULL,
	"workflow_id" text NOT NULL,
	"windows_judged" integer DEFAULT 0 NOT NULL,
	"last_window_at" timestamp with time zone,
	"started_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"stopped_at" timestamp with time zone,
	CONSTRAINT "drift_monitors_endpoint_unique" UNIQUE("project_id","endpoint_id")
);
--> statement-breakpoint
CREATE TABLE "drift_observations" (
	"project_id" uuid NOT NULL,
	"monitor_id" uuid NOT NULL,
	"prediction_id" text NOT NULL,
	"sequence" integer NOT NULL,
	"version_id" text NOT NULL,
	"role" text NOT NULL,
	"entity_id" text,
	"features" jsonb NOT NULL,
	"prediction" double precision NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "drift_observations_pk" PRIMARY KEY("monitor_id","prediction_id")
);
--> statement-breakpoint
CREATE TABLE "drift_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"monitor_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"sequence" integer NOT NULL,
	"version_id" uuid,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"predictions" integer NOT NULL,
	"judged" integer NOT NULL,
	"labels" integer DEFAULT 0 NOT NULL,
	"drifted" boolean NOT NULL,
	"signals" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "drift_reports_monitor_sequence_unique" UNIQUE("monitor_id","sequence")
);
--> statement-breakpoint
CREATE TABLE "notification_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"webhook_id" uuid NOT NULL,
	"alert_id" uuid NOT NULL,
	"event" text NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_status" integer,
	"last_error" text,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_deliveries_once_unique" UNIQUE("webhook_id","alert_id","event")
);
--> statement-breakpoint
CREATE TABLE "notification_webhooks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"url" text NOT NULL,
	"routing_key" text,
	"min_severity" text DEFAULT 'warning' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD CONSTRAINT "drift_monitors_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD CONSTRAINT "drift_monitors_endpoint_fk" FOREIGN KEY ("project_id","endpoint_id") REFERENCES "public"."endpoints"("project_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_observations" ADD CONSTRAINT "drift_observations_monitor_id_drift_monitors_id_fk" FOREIGN KEY ("monitor_id") REFERENCES "public"."drift_monitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_monitor_id_drift_monitors_id_fk" FOREIGN KEY ("monitor_id") REFERENCES "public"."drift_monitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_webhook_id_notification_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."notification_webhooks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_alert_id_alerts_id_fk" FOREIGN KEY ("alert_id") REFERENCES "public"."alerts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_webhooks" ADD CONSTRAINT "notification_webhooks_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "drift_observations_sequence_idx" ON "drift_observations" USING btree ("monitor_id","sequence");--> statement-breakpoint
CREATE INDEX "drift_observations_entity_idx" ON "drift_observations" USING btree ("monitor_id","entity_id","at");--> statement-breakpoint
CREATE INDEX "drift_reports_endpoint_window_idx" ON "drift_reports" USING btree ("project_id","endpoint_id","window_end");--> statement-breakpoint
CREATE INDEX "notification_deliveries_alert_idx" ON "notification_deliveries" USING btree ("project_id","alert_id");--> statement-breakpoint
CREATE UNIQUE INDEX "notification_webhooks_live_name_unique" ON "notification_webhooks" USING btree ("project_id","name") WHERE "notification_webhooks"."deleted_at" is null;