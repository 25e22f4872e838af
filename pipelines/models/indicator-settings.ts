/**
 * The indicator settings a locality tunes (config `models.indicators`): the hotline composite's weights and the
 * sensor alarm thresholds. The runner loads them as seed tables (`hub_settings` columns, `seed_alarm_thresholds`),
 * so the SQL reads them like any catalog. Defaults are the practitioners' values in docs/indicators.md.
 */
import { z } from 'zod';
import { code } from '../../schemas/common.js';

const weight = z.number().min(0).max(1);

export const hotlineWeightsSchema = z
  .object({
    response: weight.default(0.1).describe('weight of the response rate (响应率) in the hotline composite'),
    resolution: weight.default(0.5).describe('weight of the resolution rate (解决率) in the hotline composite'),
    satisfaction: weight.default(0.4).describe('weight of the satisfaction rate (满意率) in the hotline composite'),
  })
  .strict()
  .refine((w) => Math.abs(w.response + w.resolution + w.satisfaction - 1) < 1e-9, {
    message: 'the three weights must add up to 1 (the composite is a rate in [0,1])',
  });

export const alarmThresholdSchema = z
  .object({
    device_type: code.describe('device type of the registry (seed_devices.device_type)'),
    metric: z.string().min(1).max(64).describe('metric of the readings, in its canonical unit'),
    level: z.number().int().min(1).max(9).describe('alarm level (1 = the mildest)'),
    at_or_above: z.number().optional().describe('a reading at or above this value is at this level'),
    at_or_below: z.number().optional().describe('a reading at or below this value is at this level'),
  })
  .strict()
  .refine((t) => t.at_or_above !== undefined || t.at_or_below !== undefined, {
    message: 'give at_or_above, at_or_below or both',
  });

const dimensionWeight = z.number().min(0).default(1);

export const evaluationSchema = z
  .object({
    dimension_weights: z
      .object({
        operation: dimensionWeight.describe('城市运行 (city operation)'),
        management: dimensionWeight.describe('城市管理 (city management)'),
        service: dimensionWeight.describe('公众服务 (public service)'),
        effectiveness: dimensionWeight.describe('工作效能 (work effectiveness)'),
      })
      .strict()
      .prefault({})
      .describe('weights of the four dimensions in the composite score (default 1 each)'),
    indicators: z
      .array(
        z
          .object({
            code: z.string().min(1).describe('an indicator code of the catalog (mart_indicators.code)'),
            weight: z.number().positive().default(1).describe('its weight within its dimension'),
            full_score_at: z
              .number()
              .gt(0)
              .max(1)
              .default(1)
              .describe('the rate that scores 100: score = 100 × min(1, rate / full_score_at)'),
          })
          .strict(),
      )
      .optional()
      .describe(
        'the indicators scored (default: every ratio indicator of the catalog where higher is better, weight 1, full score at 100%)',
      ),
  })
  .strict();

export const indicatorSettingsSchema = z
  .object({
    hotline_weights: hotlineWeightsSchema
      .prefault({})
      .describe('weights of the hotline composite score (default 0.1 / 0.5 / 0.4)'),
    basically_satisfied_weight: weight
      .default(0.9)
      .describe('a 基本满意 (basically satisfied) follow-up counts this much of a 满意 one in the satisfaction rate'),
    evaluation: evaluationSchema
      .prefault({})
      .describe('the four-dimension evaluation scheme (mart_evaluation): which indicators, their weights and scoring'),
    sensor_alarms: z
      .array(alarmThresholdSchema)
      .default([])
      .describe(
        'alarm thresholds per device type and metric; a reading is at the highest level whose threshold it reaches (e.g. gas methane %LEL: level 1 at_or_above 25, level 2 at_or_above 50)',
      ),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.sensor_alarms.forEach((t, i) => {
      const key = `${t.device_type}\u0000${t.metric}\u0000${t.level}`;
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sensor_alarms', i],
          message: `device_type ${t.device_type}, metric ${t.metric}, level ${t.level} is given twice`,
        });
      }
      seen.add(key);
    });
  });

export type IndicatorSettings = z.infer<typeof indicatorSettingsSchema>;
export type IndicatorSettingsInput = z.input<typeof indicatorSettingsSchema>;
export type EvaluationScheme = z.infer<typeof evaluationSchema>;
export type AlarmThreshold = z.infer<typeof alarmThresholdSchema>;
