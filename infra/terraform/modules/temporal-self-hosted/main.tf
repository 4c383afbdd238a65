# Temporal server on ECS Fargate, persisted in the RDS instance (databases `temporal` and
# `temporal_visibility`, created and migrated by the auto-setup image at start). Reached by the api
# and workers at temporal.<discovery namespace>:7233; never exposed outside the VPC. For heavy
# workloads run the frontend, history, matching and worker roles as separate services, or use
# Temporal Cloud (temporal_mode = "cloud").

data "aws_region" "current" {}

resource "aws_ecs_cluster" "temporal" {
  name = "${var.name}-temporal"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name = var.discovery_namespace
  vpc  = var.vpc_id
}

resource "aws_service_discovery_service" "temporal" {
  name = "temporal"
  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }
  health_check_custom_config {
    failure_threshold = 1
  }
}

resource "aws_security_group" "temporal" {
  name        = "${var.name}-temporal"
  description = "Temporal frontend; ingress rules are added per client service"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "temporal_all" {
  security_group_id = aws_security_group.temporal.id
  description       = "image pulls through NAT, RDS"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "database_from_temporal" {
  security_group_id            = var.database_security_group_id
  referenced_security_group_id = aws_security_group.temporal.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "temporal server"
}

resource "aws_secretsmanager_secret" "database_password" {
  name                    = "${var.name}/temporal-database-password"
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_password" {
  secret_id     = aws_secretsmanager_secret.database_password.id
  secret_string = var.database.password
}

resource "aws_cloudwatch_log_group" "temporal" {
  name              = "/shepherd/${var.name}/temporal"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "execution" {
  name = "${var.name}-temporal-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "execution_secrets" {
  name = "read-database-password"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = [aws_secretsmanager_secret.database_password.arn]
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.secrets_kms_key_arn]
      },
    ]
  })
}

resource "aws_ecs_task_definition" "temporal" {
  family                   = "${var.name}-temporal"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  container_definitions = jsonencode([{
    name      = "temporal"
    image     = var.server_image
    essential = true
    portMappings = [{
      containerPort = 7233
      protocol      = "tcp"
    }]
    environment = [
      { name = "DB", value = "postgres12" },
      { name = "DB_PORT", value = tostring(var.database.port) },
      { name = "POSTGRES_SEEDS", value = var.database.address },
      { name = "POSTGRES_USER", value = var.database.username },
      { name = "DBNAME", value = "temporal" },
      { name = "VISIBILITY_DBNAME", value = "temporal_visibility" },
      # RDS requires TLS (rds.force_ssl).
      { name = "SQL_TLS_ENABLED", value = "true" },
      { name = "DEFAULT_NAMESPACE", value = var.namespace },
      { name = "DEFAULT_NAMESPACE_RETENTION", value = "${var.retention_days * 24}h" },
    ]
    secrets = [
      { name = "POSTGRES_PWD", valueFrom = aws_secretsmanager_secret.database_password.arn },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.temporal.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "temporal"
      }
    }
  }])
}

resource "aws_ecs_service" "temporal" {
  name            = "temporal"
  cluster         = aws_ecs_cluster.temporal.id
  task_definition = aws_ecs_task_definition.temporal.arn
  desired_count   = var.desired_count
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.temporal.id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.temporal.arn
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}
