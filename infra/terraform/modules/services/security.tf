# Network least privilege: a task reaches PostgreSQL, Kafka or Temporal only if its app uses it.

locals {
  database_clients = { for name, svc in local.services : name => svc if svc.needs.database }
  kafka_clients    = { for name, svc in local.services : name => svc if svc.needs.kafka }
  temporal_clients = { for name, svc in local.services : name => svc if svc.needs.temporal && var.temporal.mode == "self-hosted" }
  # 9092 plaintext, 9094 TLS (MSK's listeners inside the VPC).
  kafka_ports = [9092, 9094]
  kafka_rules = {
    for pair in setproduct(keys(local.kafka_clients), local.kafka_ports) : "${pair[0]}-${pair[1]}" => { service = pair[0], port = pair[1] }
  }
}

resource "aws_security_group" "service" {
  for_each    = local.services
  name        = "${var.name}-${each.key}"
  description = "${each.key} tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  for_each                     = local.public_services
  security_group_id            = aws_security_group.service[each.key].id
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

# Outbound to anywhere on 443 (ECR, S3, Secrets Manager, CloudWatch, Temporal Cloud) and to the VPC
# for the backing services; their own security groups decide who gets in.
resource "aws_vpc_security_group_egress_rule" "https" {
  for_each          = local.services
  security_group_id = aws_security_group.service[each.key].id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "vpc" {
  for_each          = local.services
  security_group_id = aws_security_group.service[each.key].id
  ip_protocol       = "tcp"
  from_port         = 0
  to_port           = 65535
  cidr_ipv4         = var.vpc_cidr_block
}

# Temporal Cloud's regional endpoint listens on 7233.
resource "aws_vpc_security_group_egress_rule" "temporal_cloud" {
  for_each          = { for name, svc in local.services : name => svc if svc.needs.temporal && var.temporal.mode == "cloud" }
  security_group_id = aws_security_group.service[each.key].id
  ip_protocol       = "tcp"
  from_port         = 7233
  to_port           = 7233
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "database" {
  for_each                     = local.database_clients
  security_group_id            = var.database_security_group_id
  referenced_security_group_id = aws_security_group.service[each.key].id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = each.key
}

resource "aws_vpc_security_group_ingress_rule" "kafka" {
  for_each                     = local.kafka_rules
  security_group_id            = var.kafka_security_group_id
  referenced_security_group_id = aws_security_group.service[each.value.service].id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.service
}

resource "aws_vpc_security_group_ingress_rule" "temporal" {
  for_each                     = local.temporal_clients
  security_group_id            = var.temporal.security_group_id
  referenced_security_group_id = aws_security_group.service[each.key].id
  ip_protocol                  = "tcp"
  from_port                    = 7233
  to_port                      = 7233
  description                  = each.key
}
