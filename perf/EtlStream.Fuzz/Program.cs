using EtlStream.Formats.Csv;
using EtlStream.Tables;
using EtlStream.Transforms;
using SharpFuzz;

// Coverage-guided fuzzing of the CSV parser and the transform kernels with afl++ (see run.sh). A bad input may
// load, reject rows or fail with a format/schema error naming the file; anything else (another exception, a
// hang past afl's timeout) is a finding.
// Built inside the callback: instrumented engine code may only run once SharpFuzz has set up afl's coverage map.
TableSpec? spec = null;

Fuzzer.OutOfProcess.Run(stream =>
{
    spec ??= Spec();
    try
    {
        using var parser = new CsvArrowParser(stream, "fuzz.csv", spec.Csv);
        var header = parser.ReadHeaderAsync().AsTask().GetAwaiter().GetResult();
        if (header.Count == 0)
        {
            return;
        }

        var bound = new TableTransform(spec, new DateOnly(2026, 11, 24)).Bind("fuzz.csv", header);
        while (parser.ReadBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
        {
            using (batch)
            using (bound.Apply(batch))
            {
            }
        }
    }
    catch (CsvFormatException)
    {
    }
    catch (SourceSchemaException)
    {
    }
});

static TableSpec Spec() => TableSpecReader.Read("""
    table: fuzz
    columns:
      - { name: id, type: int64, nullable: false }
      - { name: name, type: "varchar(12)", overflow: truncate, rules: { regex: "^[^x]*$" } }
      - { name: amount, type: "decimal(6,2)" }
      - { name: day, type: date, format: dd-MM-yyyy }
      - { name: at, type: timestamp }
      - { name: flag, type: bool, true: [Y], false: [N] }
    filter:
      - { column: amount, op: ">=", value: "-100" }
    """, "fuzz.yaml") with { Csv = CsvOptions.Default with { BatchRows = 3, MaxRecordBytes = 4096 } };
