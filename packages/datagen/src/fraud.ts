import { datasetColumns } from '@shepherd/contracts/trainer';
import { Random, cumulativeSum } from './random.ts';

/**
 * Synthetic card transactions with fraud labels.
 *
 * The world: cards with their own spending scale and activity level transact at a rate that follows
 * the time of day; now and then a cardholder travels (far away, sometimes abroad, legitimately), and
 * now and then a card's details are stolen and a fraudster runs a short burst of transactions on it
 * at any hour, at riskier merchants, often far away. Per-card aggregates are computed from that
 * card's earlier transactions only, as a feature store would serve them at event time.
 *
 * The label is drawn from a logistic model of the row's own features (`fraudProbability`), so it is
 * learnable but not deterministic: the best possible AUC is high, not 1.
 *
 * With `target: 'expected_loss'` the same rows carry a regression target instead: the money the
 * issuer can expect to lose on the transaction (`expectedLoss`), times log-normal noise.
 */

/** Feature columns, in the order a model trained on this data takes them. */
export const fraudFeatureNames = [
  'amount',
  'log_amount',
  'hour_of_day',
  'is_night',
  'merchant_risk',
  'distance_from_home_km',
  'is_foreign',
  'card_age_days',
  'txn_count_1h',
  'txn_count_24h',
  'amount_vs_avg_24h',
] as const;

export type FraudFeatureName = (typeof fraudFeatureNames)[number];
export type FraudFeatures = Record<FraudFeatureName, number>;

/** The entity key of every row. */
export const fraudEntityColumn = 'card_id';

export interface FraudRow extends FraudFeatures {
  transaction_id: string;
  card_id: string;
  /** ISO 8601, UTC, millisecond precision; strictly increasing within one generated dataset. */
  event_time: string;
  label: 0 | 1;
}

/** A row whose `label` is the expected-loss regression target instead of the fraud label. */
export interface ExpectedLossRow extends FraudFeatures {
  transaction_id: string;
  card_id: string;
  event_time: string;
  /** Non-negative, in the amount's currency, to 6 significant digits. */
  label: number;
}

/** What `label` holds: the fraud label (binary classification) or the expected loss (regression). */
export type DatasetTarget = 'fraud' | 'expected_loss';

export type DatasetRow = FraudRow | ExpectedLossRow;

/** CSV column order: id, entity, event time, features, label. */
export const fraudColumns = [
  datasetColumns.id,
  fraudEntityColumn,
  datasetColumns.time,
  ...fraudFeatureNames,
  datasetColumns.label,
] as const;

export interface MerchantCategory {
  name: string;
  /** The `merchant_risk` feature: a prior fraud propensity for the category, in [0, 1]. */
  risk: number;
  /** Share of cardholders' own spending. */
  weight: number;
  /** Share under `drift.merchantMix` (spending moved online, to electronics and travel). */
  driftWeight: number;
  /** Share of fraudsters' spending. */
  fraudWeight: number;
  medianAmount: number;
  /** Log-space spread of amounts. */
  amountSigma: number;
}

// name, merchant_risk, weight, driftWeight, fraudWeight, medianAmount, amountSigma
const categoryTable: [string, number, number, number, number, number, number][] = [
  ['grocery', 0.05, 24, 14, 3, 42, 0.6],
  ['restaurant', 0.08, 17, 12, 3, 28, 0.6],
  ['fuel', 0.12, 10, 7, 5, 55, 0.4],
  ['pharmacy', 0.06, 4, 3, 1, 24, 0.7],
  ['utilities', 0.03, 4, 3, 1, 95, 0.5],
  ['retail', 0.15, 15, 12, 10, 65, 0.8],
  ['online_marketplace', 0.3, 12, 20, 18, 48, 0.9],
  ['digital_goods', 0.45, 5, 10, 16, 15, 0.9],
  ['electronics', 0.4, 4, 9, 16, 220, 0.9],
  ['travel', 0.35, 3, 7, 10, 320, 0.8],
  ['jewelry', 0.6, 1, 1.5, 6, 380, 0.9],
  ['gift_cards', 0.75, 1, 1.5, 11, 100, 0.6],
];

export const merchantCategories: readonly MerchantCategory[] = categoryTable.map(
  ([name, risk, weight, driftWeight, fraudWeight, medianAmount, amountSigma]) => ({
    name,
    risk,
    weight,
    driftWeight,
    fraudWeight,
    medianAmount,
    amountSigma,
  }),
);

export interface DriftOptions {
  /** 0 = cardholders' usual merchant mix, 1 = the shifted mix (`driftWeight`); in between blends. */
  merchantMix?: number;
  /** Multiplies every amount (inflation, a new customer segment). */
  amountScale?: number;
}

export interface FraudDataOptions {
  rows: number;
  /** Number of distinct cards; default one card per 100 rows (at least 10). */
  cards?: number;
  /** Any safe integer; default 1. */
  seed?: number;
  /** Start of the simulated period; default 2025-01-01T00:00:00Z. */
  start?: Date | string;
  /** Approximate length of the simulated period in days; default 30. */
  days?: number;
  /** `true` means `{ merchantMix: 1, amountScale: 1.5 }`. */
  drift?: boolean | DriftOptions;
  /**
   * Fraction of rows whose labels are permuted among themselves (within blocks of
   * `labelShuffleBlock` rows): the fraud rate is kept exactly while those rows' labels stop
   * depending on their features.
   */
  labelNoise?: number;
  /** Every label permuted (labelNoise = 1): same fraud rate, no relation to the features. */
  shuffleLabels?: boolean;
}

export interface DatasetOptions extends FraudDataOptions {
  /** Default 'fraud'. The features are the same rows either way; only `label` changes. */
  target?: DatasetTarget;
}

/** Labels are permuted within blocks of this many rows so that generation still streams. */
export const labelShuffleBlock = 4096;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Relative transaction intensity by UTC hour for cardholders (fraudsters ignore it). */
const hourlyIntensity = normalize([
  0.18, 0.1, 0.07, 0.06, 0.07, 0.14, 0.35, 0.7, 1.05, 1.2, 1.3, 1.45, 1.6, 1.5, 1.35, 1.3, 1.4, 1.6, 1.75,
  1.7, 1.5, 1.2, 0.8, 0.4,
]);

/** Chance that a cardholder transaction is followed by a fraud burst on a card picked at random. */
const compromiseRate = 0.0025;
const fraudBurstMeanMs = 3 * HOUR_MS;
const fraudGapMeanMs = 12 * 60_000;
const travelStartRate = 0.006;

interface Card {
  id: string;
  issuedAt: number;
  spendScale: number;
  travelUntil: number;
  travelDistanceKm: number;
  travelForeign: boolean;
  /** This card's transactions within the last 24 hours, oldest first. */
  recent: { time: number; amount: number }[];
}

interface FraudBurst {
  card: Card;
  nextAt: number;
  endsAt: number;
}

interface Resolved {
  rows: number;
  cards: number;
  seed: number;
  startMs: number;
  days: number;
  merchantMix: number;
  amountScale: number;
  labelNoise: number;
  target: DatasetTarget;
}

function resolve(options: DatasetOptions): Resolved {
  const { rows } = options;
  if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer`);
  const cards = options.cards ?? Math.max(10, Math.ceil(rows / 100));
  if (!Number.isSafeInteger(cards) || cards < 1) throw new RangeError(`cards must be a positive integer`);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer`);
  const startMs = new Date(options.start ?? '2025-01-01T00:00:00Z').getTime();
  if (!Number.isFinite(startMs)) throw new RangeError(`start is not a valid date: ${String(options.start)}`);
  const days = options.days ?? 30;
  if (!(days > 0 && Number.isFinite(days))) throw new RangeError(`days must be a positive number`);
  const drift: DriftOptions =
    options.drift === true ? { merchantMix: 1, amountScale: 1.5 } : options.drift ? options.drift : {};
  const merchantMix = drift.merchantMix ?? 0;
  if (!(merchantMix >= 0 && merchantMix <= 1)) throw new RangeError(`drift.merchantMix must be in [0, 1]`);
  const amountScale = drift.amountScale ?? 1;
  if (!(amountScale > 0 && Number.isFinite(amountScale)))
    throw new RangeError(`drift.amountScale must be > 0`);
  const labelNoise = options.shuffleLabels ? 1 : (options.labelNoise ?? 0);
  if (!(labelNoise >= 0 && labelNoise <= 1)) throw new RangeError(`labelNoise must be in [0, 1]`);
  const target = options.target ?? 'fraud';
  if (target !== 'fraud' && target !== 'expected_loss')
    throw new RangeError(`target must be 'fraud' or 'expected_loss', got ${String(target)}`);
  return { rows, cards, seed, startMs, days, merchantMix, amountScale, labelNoise, target };
}

/**
 * The probability that a transaction with these features is fraud. Labels are Bernoulli draws from
 * it, so it is also the best score any model can have (tests use it as the oracle).
 */
export function fraudProbability(f: FraudFeatures): number {
  const z =
    -6.3 +
    3.2 * f.merchant_risk +
    0.45 * Math.log1p(f.distance_from_home_km / 10) +
    1.1 * f.is_foreign +
    0.8 * f.is_night +
    0.55 * Math.min(f.txn_count_1h, 5) +
    0.8 * Math.log(Math.min(Math.max(f.amount_vs_avg_24h, 0.1), 20)) +
    0.25 * Math.max(f.log_amount - 4, 0) +
    1.2 * Math.exp(-f.card_age_days / 45);
  return 1 / (1 + Math.exp(-z));
}

/** Share of a fraudulent amount the issuer cannot claw back; cross-border chargebacks recover less. */
export function lossGivenFraud(f: Pick<FraudFeatures, 'is_foreign'>): number {
  return 0.55 + 0.35 * f.is_foreign;
}

/**
 * The expected loss of a transaction: amount × P(fraud) × loss given fraud. The regression target
 * is this times log-normal noise with mean 1, so this is also the best prediction (the oracle).
 */
export function expectedLoss(f: FraudFeatures): number {
  return f.amount * fraudProbability(f) * lossGivenFraud(f);
}

/** Log-space spread of the expected-loss noise: about ±25% around the oracle. */
export const expectedLossNoiseSigma = 0.25;

/**
 * Streams `options.rows` transactions in event-time order. Same options ⇒ identical rows.
 * `label` is the fraud label, or with `target: 'expected_loss'` the expected loss.
 */
export function generateFraudRows(
  options: FraudDataOptions & { target?: 'fraud' },
): Generator<FraudRow, void, undefined>;
export function generateFraudRows(
  options: FraudDataOptions & { target: 'expected_loss' },
): Generator<ExpectedLossRow, void, undefined>;
export function generateFraudRows(options: DatasetOptions): Generator<DatasetRow, void, undefined>;
export function generateFraudRows(options: DatasetOptions): Generator<DatasetRow, void, undefined> {
  // Resolved here rather than on the first next(), so bad options throw before anything is written.
  return rows(resolve(options));
}

function* rows(o: Resolved): Generator<DatasetRow, void, undefined> {
  // Separate streams: changing how labels are drawn or shuffled never moves the features.
  const world = new Random(o.seed, 1);
  const labels = new Random(o.seed, 2);
  const noise = new Random(o.seed, 3);
  const losses = new Random(o.seed, 5);
  const lossMedian = Math.exp(-(expectedLossNoiseSigma ** 2) / 2);
  // Ids carry the seed so datasets generated with different seeds can be combined.
  const seedTag = Math.floor(new Random(o.seed, 4).next() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, '0');

  const legitMix = cumulativeSum(
    merchantCategories.map((c) => (1 - o.merchantMix) * c.weight + o.merchantMix * c.driftWeight),
  );
  const fraudMix = cumulativeSum(merchantCategories.map((c) => c.fraudWeight));

  const cardDigits = Math.max(6, String(o.cards - 1).length);
  const cards: Card[] = [];
  const activity: number[] = [];
  for (let i = 0; i < o.cards; i++) {
    const ageDays = world.bernoulli(0.1) ? world.uniform(1, 60) : world.uniform(60, 6 * 365);
    cards.push({
      id: `card-${String(i).padStart(cardDigits, '0')}`,
      issuedAt: o.startMs - ageDays * DAY_MS,
      spendScale: world.logNormal(1, 0.45),
      travelUntil: -Infinity,
      travelDistanceKm: 0,
      travelForeign: false,
      recent: [],
    });
    activity.push(world.logNormal(1, 0.6));
  }
  const activityCumulative = cumulativeSum(activity);

  const meanGapMs = (o.days * DAY_MS) / Math.max(o.rows, 1);
  const legitGap = (at: number): number =>
    world.exponential(meanGapMs) / (hourlyIntensity[new Date(at).getUTCHours()] ?? 1);

  let nextLegitAt = o.startMs + legitGap(o.startMs);
  const bursts: FraudBurst[] = [];
  let lastTime = -Infinity;
  const pending: DatasetRow[] = [];

  for (let index = 0; index < o.rows; index++) {
    let burstIndex = -1;
    for (let b = 0; b < bursts.length; b++) {
      const burst = bursts[b]!;
      if (burst.nextAt < nextLegitAt && (burstIndex < 0 || burst.nextAt < bursts[burstIndex]!.nextAt)) {
        burstIndex = b;
      }
    }

    let card: Card;
    let time: number;
    let category: MerchantCategory;
    let amount: number;
    let distanceKm: number;
    let foreign: boolean;

    if (burstIndex >= 0) {
      const burst = bursts[burstIndex]!;
      card = burst.card;
      time = Math.max(Math.round(burst.nextAt), lastTime + 1);
      burst.nextAt += world.exponential(fraudGapMeanMs);
      if (burst.nextAt > burst.endsAt) bursts.splice(burstIndex, 1);

      category = merchantCategories[world.pickCumulative(fraudMix)]!;
      // Fraudsters often test a card with a tiny purchase before spending big.
      amount = world.bernoulli(0.2)
        ? world.uniform(0.5, 5)
        : world.logNormal(category.medianAmount * 1.8 * o.amountScale, category.amountSigma + 0.2);
      distanceKm = world.bernoulli(0.35) ? world.logNormal(8, 1.2) : world.logNormal(400, 1.3);
      foreign = world.bernoulli(0.4);
    } else {
      card = cards[world.pickCumulative(activityCumulative)]!;
      time = Math.max(Math.round(nextLegitAt), lastTime + 1);
      nextLegitAt += legitGap(nextLegitAt);

      if (time > card.travelUntil && world.bernoulli(travelStartRate)) {
        card.travelUntil = time + world.uniform(2, 10) * DAY_MS;
        card.travelDistanceKm = world.logNormal(600, 1);
        card.travelForeign = world.bernoulli(0.4);
      }
      const travelling = time <= card.travelUntil;

      category = merchantCategories[world.pickCumulative(legitMix)]!;
      amount = card.spendScale * world.logNormal(category.medianAmount * o.amountScale, category.amountSigma);
      distanceKm = travelling ? card.travelDistanceKm * world.logNormal(1, 0.3) : world.logNormal(3, 1.1);
      foreign = travelling ? card.travelForeign && world.bernoulli(0.9) : world.bernoulli(0.01);

      if (world.bernoulli(compromiseRate)) {
        const startsAt = time + world.exponential(30 * 60_000);
        bursts.push({
          card: cards[world.int(cards.length)]!,
          nextAt: startsAt,
          endsAt: startsAt + world.exponential(fraudBurstMeanMs),
        });
      }
    }
    lastTime = time;
    amount = Math.max(0.5, round(amount, 2));

    // Point in time: only this card's transactions strictly before `time`, within the window.
    const recent = card.recent;
    while (recent.length > 0 && time - recent[0]!.time >= DAY_MS) recent.shift();
    let count1h = 0;
    let sum24h = 0;
    for (const prior of recent) {
      sum24h += prior.amount;
      if (time - prior.time < HOUR_MS) count1h++;
    }
    const count24h = recent.length;
    recent.push({ time, amount });

    const hour = new Date(time).getUTCHours();
    const features: FraudFeatures = {
      amount,
      log_amount: round(Math.log(amount), 4),
      hour_of_day: hour,
      is_night: hour < 6 ? 1 : 0,
      merchant_risk: category.risk,
      distance_from_home_km: round(distanceKm, 2),
      is_foreign: foreign ? 1 : 0,
      card_age_days: round((time - card.issuedAt) / DAY_MS, 2),
      txn_count_1h: count1h,
      txn_count_24h: count24h,
      amount_vs_avg_24h: count24h === 0 ? 1 : round(amount / (sum24h / count24h), 4),
    };
    const row: DatasetRow = {
      transaction_id: `txn-${seedTag}-${String(index).padStart(8, '0')}`,
      card_id: card.id,
      event_time: new Date(time).toISOString(),
      ...features,
      label:
        o.target === 'fraud'
          ? labels.bernoulli(fraudProbability(features))
            ? 1
            : 0
          : // Significant digits, not decimals: most losses are cents or less, a few are hundreds.
            Number(
              (expectedLoss(features) * losses.logNormal(lossMedian, expectedLossNoiseSigma)).toPrecision(6),
            ),
    };

    if (o.labelNoise === 0) {
      yield row;
      continue;
    }
    pending.push(row);
    if (pending.length === labelShuffleBlock) {
      permuteLabels(pending, o.labelNoise, noise);
      yield* pending;
      pending.length = 0;
    }
  }
  if (pending.length > 0) {
    permuteLabels(pending, o.labelNoise, noise);
    yield* pending;
  }
}

/** Permutes the labels of a random `fraction` of `rows` among themselves (Fisher–Yates). */
function permuteLabels(rows: DatasetRow[], fraction: number, random: Random): void {
  const chosen = fraction >= 1 ? rows : rows.filter(() => random.bernoulli(fraction));
  const shuffled = chosen.map((row) => row.label);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  chosen.forEach((row, i) => (row.label = shuffled[i]!));
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function normalize(values: number[]): number[] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return values.map((v) => v / mean);
}
