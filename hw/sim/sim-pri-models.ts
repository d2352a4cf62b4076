/**
 * The simulated card's PRI models: what `SimCardOptions.model` 'e1-pri' / 't1-pri' put in the hello,
 * which switch variant the simulated network runs, and which span-config the card accepts.
 *
 *   e1-pri: 1 E1 span, 30 B channels on TDM channels 1..30, A-law, ETSI Euro-ISDN (EN 300 403);
 *           HDB3, CRC-4 or no CRC-4 (ITU-T G.704 §2.3).
 *   e1-pri-2: 2 E1 spans (span 1 on TDM channels 1..30, span 2 on 31..60), otherwise as e1-pri.
 *   e1-pri-4: 4 E1 spans (span n on TDM channels 30(n-1)+1..30n: 120 B channels), otherwise as e1-pri.
 *   t1-pri: 1 T1 span, 23 B channels on TDM channels 1..23, µ-law, NI-2 (GR-4001); B8ZS or AMI,
 *           ESF or D4 (ANSI T1.403).
 * Both: common channel signaling only (CAS is refused).
 */
import { SWITCH_VARIANTS, type SwitchVariant } from '../../controller/pstn/isdn/switch-variant';
import type { CompandingLaw, SpanInfo } from '../card/types';
import type { SpanConfigMessage } from '../link/messages';

export const PRI_MODELS = ['e1-pri', 'e1-pri-2', 'e1-pri-4', 't1-pri'] as const;
export type PriModelName = (typeof PRI_MODELS)[number];

export interface PriModel {
  name: PriModelName;
  /** The model string in the card's hello. */
  helloModel: string;
  law: CompandingLaw;
  spans: SpanInfo[];
  variant: SwitchVariant;
}

export function isPriModel(model: string | undefined): model is PriModelName {
  return (PRI_MODELS as readonly string[]).includes(model ?? '');
}

/** The PRI model named, or undefined for the analog card (any other model string). */
export function priModel(model: string | undefined): PriModel | undefined {
  if (!isPriModel(model)) return undefined;
  if (model === 'e1-pri') {
    return { name: model, helloModel: 'TW-E1PRI-SIM', law: 'alaw', spans: [{ span: 1, type: 'E1', firstChannel: 1, channels: 30 }], variant: SWITCH_VARIANTS.etsi };
  }
  if (model === 'e1-pri-2') {
    const spans: SpanInfo[] = [
      { span: 1, type: 'E1', firstChannel: 1, channels: 30 },
      { span: 2, type: 'E1', firstChannel: 31, channels: 30 },
    ];
    return { name: model, helloModel: 'TW-2E1PRI-SIM', law: 'alaw', spans, variant: SWITCH_VARIANTS.etsi };
  }
  if (model === 'e1-pri-4') {
    const spans: SpanInfo[] = [1, 2, 3, 4].map((span) => ({ span, type: 'E1', firstChannel: 30 * (span - 1) + 1, channels: 30 }));
    return { name: model, helloModel: 'TW-4E1PRI-SIM', law: 'alaw', spans, variant: SWITCH_VARIANTS.etsi };
  }
  return { name: model, helloModel: 'TW-T1PRI-SIM', law: 'ulaw', spans: [{ span: 1, type: 'T1', firstChannel: 1, channels: 23 }], variant: SWITCH_VARIANTS.ni2 };
}

/** Checks a span-config against the span; '' when accepted, else why not (printable ASCII). */
export function spanConfigProblem(span: SpanInfo | undefined, m: Omit<SpanConfigMessage, 'type' | 'requestId'>): string {
  if (!span) return `span ${m.span} does not exist on this card`;
  if (m.signaling !== 'ccs') return `span ${m.span}: signaling ${m.signaling} not supported, expected ccs (PRI)`;
  if (span.type === 'E1') {
    if (m.lineCode !== 'hdb3') return `span ${m.span}: line code ${m.lineCode} is not E1, expected hdb3`;
    if (m.framing !== 'crc4' && m.framing !== 'no-crc4') return `span ${m.span}: framing ${m.framing} is not E1, expected crc4 or no-crc4`;
  } else {
    if (m.lineCode !== 'b8zs' && m.lineCode !== 'ami') return `span ${m.span}: line code ${m.lineCode} is not T1, expected b8zs or ami`;
    if (m.framing !== 'esf' && m.framing !== 'd4') return `span ${m.span}: framing ${m.framing} is not T1, expected esf or d4`;
  }
  return '';
}
