# The platform's processes on ECS Fargate: api, gateway and dashboard behind one ALB (by host name),
# a worker service per Temporal task queue, and the feature ingestion consumers. Every service has
# its own security group, execution role (only its own secrets and log group) and task role (only
# the S3 access its app needs), and scales on its own.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # needs: which backing services a task may reach (security-group rules) and what it does in S3.
  services = {
    api = {
      command     = ["node_modules/.bin/tsx", "--no-allocation-site-pretenuring", "--min-semi-space-size=16", "apps/api/src/main.ts"]
      port        = 8080
      health_path = "/healthz"
      host        = var.hostnames.api
      environment = local.api_environment
      secrets     = local.api_secrets
      # The api only checks the bucket (readiness); workers write the artifacts.
      needs        = { database = true, kafka = true, temporal = true, s3 = "bucket-only" }
      stop_timeout = 30
    }
    gateway = {
      command      = ["node_modules/.bin/tsx", "--no-allocation-site-pretenuring", "--min-semi-space-size=16", "apps/gateway/src/main.ts"]
      port         = 8081
      health_path  = "/healthz"
      host         = var.hostnames.gateway
      environment  = local.gateway_environment
      secrets      = local.gateway_secrets
      needs        = { database = true, kafka = true, temporal = false, s3 = "read-models" }
      stop_timeout = 30
    }
    dashboard = {
      command      = ["npm", "run", "start", "-w", "@shepherd/dashboard", "--", "--host", "0.0.0.0"]
      port         = 5173
      health_path  = "/"
      host         = var.hostnames.dashboard
      environment  = local.dashboard_environment
      secrets      = local.dashboard_secrets
      needs        = { database = false, kafka = false, temporal = false, s3 = "none" }
      stop_timeout = 10
    }
    worker-main = {
      command     = ["node_modules/.bin/tsx", "apps/worker/src/main.ts"]
      port        = null
      health_path = null
      host        = null
      environment = local.worker_main_environment
      secrets     = local.worker_main_secrets
      needs       = { database = true, kafka = true, temporal = true, s3 = "read-write" }
      # Fargate's ceiling: running activities get this long to finish after SIGTERM.
      stop_timeout = 120
    }
    worker-training = {
      command      = ["node_modules/.bin/tsx", "apps/worker/src/main.ts"]
      port         = null
      health_path  = null
      host         = null
      environment  = local.worker_training_environment
      secrets      = local.worker_training_secrets
      needs        = { database = true, kafka = true, temporal = true, s3 = "read-write" }
      stop_timeout = 120
    }
    ingestion = {
      command      = ["node_modules/.bin/tsx", "packages/features/src/ingest-main.ts"]
      port         = null
      health_path  = null
      host         = null
      environment  = local.ingestion_environment
      secrets      = local.ingestion_secrets
      needs        = { database = true, kafka = true, temporal = false, s3 = "none" }
      stop_timeout = 30
    }
  }

  public_services = { for name, svc in local.services : name => svc if svc.port != null }
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "service" {
  for_each          = local.services
  name              = "/shepherd/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_task_definition" "service" {
  for_each                 = local.services
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.sizes[each.key].cpu
  memory                   = var.sizes[each.key].memory
  execution_role_arn       = aws_iam_role.execution[each.key].arn
  task_role_arn            = aws_iam_role.task[each.key].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # Training writes its data and model under WORK_DIR.
  ephemeral_storage {
    size_in_gib = var.sizes[each.key].ephemeral_gib
  }

  container_definitions = jsonencode([{
    name             = each.key
    image            = var.image
    essential        = true
    command          = each.value.command
    workingDirectory = var.image_workdir
    stopTimeout      = each.value.stop_timeout
    # The root filesystem stays writable: tsx and the trainer write temporary files.
    portMappings = each.value.port == null ? [] : [{ containerPort = each.value.port, protocol = "tcp" }]
    environment  = [for name in sort(keys(each.value.environment)) : { name = name, value = each.value.environment[name] }]
    secrets      = [for name in sort(keys(each.value.secrets)) : { name = name, valueFrom = each.value.secrets[name] }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service[each.key].name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

resource "aws_ecs_service" "service" {
  for_each               = local.services
  name                   = each.key
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.service[each.key].arn
  desired_count          = var.sizes[each.key].min
  launch_type            = "FARGATE"
  enable_execute_command = var.enable_execute_command
  propagate_tags         = "SERVICE"

  # A rollout that never gets healthy is stopped and the previous task definition comes back.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.service[each.key].id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = each.value.port == null ? [] : [each.value.port]
    content {
      target_group_arn = aws_lb_target_group.service[each.key].arn
      container_name   = each.key
      container_port   = load_balancer.value
    }
  }

  health_check_grace_period_seconds = each.value.port == null ? null : 60

  # Autoscaling owns the count after creation.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https]
}
