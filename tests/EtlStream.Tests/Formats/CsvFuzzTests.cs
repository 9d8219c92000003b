using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Tests.Formats;

/// <summary>
/// Random mutations of a valid file (a fixed seed, a bounded number of cases): the parser and transform either
/// load, reject rows, or fail with a format error naming file and line — never another exception, never a hang.
/// A deterministic smoke test, not a coverage-guided fuzzer.
/// </summary>
public sealed class CsvFuzzTests
{
    private const string Valid = "id,name,amount,day\n1,\"Smith, J\",12.50,01-02-2026\n2,\"say \"\"hi\"\"\",-3,28-02-2026\n3,multi,0.01,31-12-2025\n4,\"line\nbreak\",7,01-01-2026\n";

    private static readonly byte[] Nasty = [(byte)'"', (byte)',', (byte)'\n', (byte)'\r', 0, 0xFF, 0xC3, (byte)' ', (byte)'x', (byte)'9'];

    [Fact]
    public async Task Mutated_files_load_reject_or_fail_with_a_format_error_and_nothing_else()
    {
        var spec = TableSpecReader.Read("""
            table: t
            columns:
              - { name: id, type: int64, nullable: false }
              - { name: name, type: "varchar(12)" }
              - { name: amount, type: "decimal(6,2)" }
              - { name: day, type: date, format: dd-MM-yyyy }
            """, "fuzz.yaml") with { Csv = CsvOptions.Default with { BatchRows = 2, MaxRecordBytes = 4096 } };
        var random = new Random(20261124);
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < 3000; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(Valid).ToList();
            for (var m = random.Next(1, 5); m > 0; m--)
            {
                var at = random.Next(bytes.Count);
                switch (random.Next(3))
                {
                    case 0: bytes[at] = Nasty[random.Next(Nasty.Length)]; break;
                    case 1: bytes.Insert(at, Nasty[random.Next(Nasty.Length)]); break;
                    default: bytes.RemoveAt(at); break;
                }
            }

            var outcome = await RunAsync(spec, [.. bytes]).WaitAsync(TimeSpan.FromSeconds(10));
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        Assert.True(outcomes.Keys.All(k => k is "loaded" or "rejected" or "format" or "schema"), string.Join(", ", outcomes.Keys));
        Assert.True(outcomes.GetValueOrDefault("loaded") > 0 && outcomes.GetValueOrDefault("format") > 0 && outcomes.GetValueOrDefault("rejected") > 0);
    }

    private static async Task<string> RunAsync(TableSpec spec, byte[] bytes)
    {
        try
        {
            using var parser = new CsvArrowParser(new MemoryStream(bytes), "fuzz.csv", spec.Csv);
            var header = await parser.ReadHeaderAsync();
            if (header.Count == 0)
            {
                return "loaded";
            }

            var bound = new TableTransform(spec, new DateOnly(2026, 11, 24)).Bind("fuzz.csv", header);
            var rejected = false;
            while (await parser.ReadBatchAsync() is { } batch)
            {
                using (batch)
                using (var result = bound.Apply(batch))
                {
                    rejected |= result.Rejected.Count > 0;
                }
            }

            return rejected ? "rejected" : "loaded";
        }
        catch (CsvFormatException e)
        {
            Assert.StartsWith("fuzz.csv:", e.Message);
            return "format";
        }
        catch (SourceSchemaException e)
        {
            Assert.StartsWith("fuzz.csv:", e.Message);
            return "schema";
        }
    }
}
