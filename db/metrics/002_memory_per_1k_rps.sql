-- efficiency.memoryMBPerRequest (average API memory in MB per request/s of throughput) is now
-- efficiency.memoryMBPer1kRps (MB per 1,000 requests/s): the same figure times 1000, named for what it is.
-- Converts the queryable phases.efficiency column and the stored documents alike.
UPDATE phases
   SET efficiency = (efficiency - 'memoryMBPerRequest'::text)
       || jsonb_build_object('memoryMBPer1kRps', (efficiency->>'memoryMBPerRequest')::double precision * 1000)
 WHERE efficiency ? 'memoryMBPerRequest';

UPDATE runs r
   SET document = jsonb_set(r.document, '{results}', (
       SELECT coalesce(jsonb_agg(jsonb_set(res.value, '{phases}', (
                  SELECT coalesce(jsonb_agg(
                             CASE WHEN ph.value->'efficiency' ? 'memoryMBPerRequest' THEN
                                 jsonb_set(ph.value, '{efficiency}',
                                     ((ph.value->'efficiency') - 'memoryMBPerRequest'::text)
                                     || jsonb_build_object('memoryMBPer1kRps',
                                            (ph.value->'efficiency'->>'memoryMBPerRequest')::double precision * 1000))
                             ELSE ph.value END ORDER BY ph.ordinality), '[]'::jsonb)
                    FROM jsonb_array_elements(res.value->'phases') WITH ORDINALITY AS ph)) ORDER BY res.ordinality),
              '[]'::jsonb)
         FROM jsonb_array_elements(r.document->'results') WITH ORDINALITY AS res))
 WHERE strpos(r.document::text, '"memoryMBPerRequest"') > 0;
