"""Realistic names, drawn per seed from two disjoint pools (training and held-out).

Names carry no hint of a workload's role in the answer key: a weak service and a robust one draw
from the same list.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

NamePool = Literal["training", "held_out"]

_POOLS: dict[NamePool, dict[str, tuple[str, ...]]] = {
    "training": {
        "namespace": ("shop", "payments", "platform", "catalog", "growth"),
        "entry": ("storefront-web", "mobile-bff", "partner-api", "public-graphql", "checkout-edge"),
        "service": (
            "cart", "pricing", "inventory", "order-history", "user-profile", "wishlist", "coupon",
            "tax-calc", "shipping-quote", "address-book", "loyalty", "gift-card", "product-info",
            "reviews", "search-query", "auth-session", "notification-prefs", "currency", "store-locator",
            "banner", "fraud-score", "returns", "bundle", "payment-intent", "recently-viewed",
        ),
        "cache": ("redis-cart", "memcached-pdp", "redis-session", "edge-cache"),
        "db": ("postgres-orders", "mysql-catalog", "mongo-reviews", "cassandra-events"),
        "pipeline": ("clickstream", "orders", "catalog-sync", "sessions", "returns-feed", "search-logs"),
        "model": ("ranker", "ctr-model", "churn-model", "price-elasticity", "fraud-model", "eta-model"),
        "job": ("ranker-train", "ctr-finetune", "churn-train", "embedding-train", "search-ltr-train",
                "fraud-gbm-train", "demand-forecast", "query-bert-finetune"),
        "batch": ("image-resizer", "sitemap-builder", "invoice-renderer", "feed-exporter"),
        "gpu_service": ("llama-serve", "mistral-vllm", "embedder", "reranker", "whisper-asr", "sdxl-render",
                        "clip-encoder", "guardrail-scorer", "tts-engine", "ocr-detector"),
        "stream": ("kafka-orders", "flink-sessionizer", "spark-streaming", "pulsar-events", "kinesis-bridge",
                   "dedup-worker", "enricher", "windower", "sink-writer", "cdc-connector"),
        "node": ("ip-10-0", "gke-prod-pool"),
    },
    "held_out": {
        "namespace": ("media", "streaming", "accounts", "content", "ads"),
        "entry": ("player-api", "tv-gateway", "web-frontend", "ads-bidder", "creator-portal"),
        "service": (
            "playback-session", "entitlement", "manifest", "drm-license", "watch-history", "profile-store",
            "subtitle", "thumbnail", "continue-watching", "kids-profile", "bookmark", "device-registry",
            "geo-policy", "bitrate-advisor", "catalog-meta", "billing-status", "trailer", "localisation",
            "rating", "artwork", "playlist", "ad-decision", "beacon-collector", "consent", "cdn-steering",
        ),
        "cache": ("redis-manifest", "memcached-meta", "redis-entitlement", "varnish-art"),
        "db": ("postgres-accounts", "cockroach-billing", "scylla-history", "mysql-content"),
        "pipeline": ("playback-events", "impressions", "ingest-meta", "qoe-metrics", "search-events", "billing-feed"),
        "model": ("recommender", "thumbnail-picker", "bitrate-model", "ad-ctr", "churn-predictor", "genre-tagger"),
        "job": ("recs-train", "two-tower-train", "bitrate-rl", "vision-finetune", "asr-finetune",
                "churn-xgb", "artwork-clip-train", "session-gru-train"),
        "batch": ("transcoder", "subtitle-sync", "report-mailer", "license-audit"),
        "gpu_service": ("qwen-serve", "falcon-tgi", "bge-embed", "colbert-rank", "speech-to-text", "upscaler",
                        "vision-tagger", "toxicity-filter", "voice-synth", "layout-parser"),
        "stream": ("redpanda-events", "beam-aggregator", "storm-topology", "nats-bridge", "eventhub-relay",
                   "joiner", "normaliser", "sessioniser", "lake-sink", "debezium-tap"),
        "node": ("aks-nodepool1", "node-prod"),
    },
}


@dataclass
class Names:
    """Draws names without repeats; falls back to numbered names when a list runs out."""

    pool: NamePool
    rng: random.Random

    def __post_init__(self) -> None:
        self._left = {k: list(v) for k, v in _POOLS[self.pool].items()}
        for v in self._left.values():
            self.rng.shuffle(v)
        self._used: set[str] = set()

    def take(self, category: str) -> str:
        left = self._left[category]
        while left:
            name = left.pop()
            if name not in self._used:
                self._used.add(name)
                return name
        base = _POOLS[self.pool][category][0]
        n = 2
        while f"{base}-{n}" in self._used:
            n += 1
        self._used.add(f"{base}-{n}")
        return f"{base}-{n}"

    def node_prefix(self) -> str:
        return self.rng.choice(_POOLS[self.pool]["node"])


def pool_names(pool: NamePool) -> frozenset[str]:
    return frozenset(n for v in _POOLS[pool].values() for n in v)
