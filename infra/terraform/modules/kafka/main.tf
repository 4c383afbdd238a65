# Amazon MSK: feature topics, labels, the prediction log, the DLQ and domain events. Three brokers
# across zones, replication 3 with min.insync.replicas 2 so one broker can go without losing an
# acknowledged write (the ingestor and the DLQ producer send with acks=all).

resource "aws_kms_key" "kafka" {
  description         = "${var.name} MSK storage"
  enable_key_rotation = true
}

resource "aws_security_group" "kafka" {
  name        = "${var.name}-kafka"
  description = "MSK brokers; ingress rules are added per client service"
  vpc_id      = var.vpc_id
}

resource "aws_msk_configuration" "this" {
  name           = "${var.name}-kafka"
  kafka_versions = [var.kafka_version]
  # Topics are created on purpose (the ingestor's ensureTopics, the runbooks), never by a typo.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${min(3, var.broker_count)}
    min.insync.replicas=${max(1, min(2, var.broker_count - 1))}
    num.partitions=${var.default_partitions}
    log.retention.hours=${var.retention_hours}
    unclean.leader.election.enable=false
  PROPERTIES
}

resource "aws_cloudwatch_log_group" "brokers" {
  name              = "/shepherd/${var.name}/msk"
  retention_in_days = var.log_retention_days
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count

  broker_node_group_info {
    instance_type   = var.broker_instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.kafka.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.broker_volume_gb
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = aws_kms_key.kafka.arn
    encryption_in_transit {
      # The apps' Kafka client (packages/clients/src/kafka.ts) speaks plaintext today; TLS listeners
      # are open too, so moving clients to TLS is an app change and a switch to "TLS" here.
      client_broker = var.client_broker_encryption
      in_cluster    = true
    }
  }

  enhanced_monitoring = "PER_TOPIC_PER_PARTITION"

  open_monitoring {
    prometheus {
      jmx_exporter {
        enabled_in_broker = true
      }
      node_exporter {
        enabled_in_broker = true
      }
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers.name
      }
    }
  }
}
