using EtlStream.Compression;
using EtlStream.Formats.Csv;
using EtlStream.Tables;
using EtlStream.Transforms;
using SharpFuzz;

// Coverage-guided fuzzing with afl++ (see run.sh) of two targets, chosen by FUZZ_TARGET:
// - csv (default): the decompression front end (magic-byte detection, gzip/zip/bzip2/zstd, nested archives, bomb
//   limits), the CSV parser and the transform kernels. A bad input may load, reject rows or fail with a
//   format/schema/data error naming the file.
// - yaml: the table spec reader and the tenant.yaml reader (aliases, nesting depth, every key). A bad input fails
//   with a ConfigException naming the file.
// Anything else (another exception, a stack overflow, a hang past afl's timeout) is a finding.

if (args is ["--repro", var folder])
{
    // Replays findings on the uninstrumented build: prints each input's unexpected exception, grouped.
    var failures = Directory.EnumerateFiles(folder).Where(f => !f.EndsWith("README.txt", StringComparison.Ordinal))
        .Select(f => (File: f, Error: Replay(f)))
        .Where(r => r.Error is not null)
        .GroupBy(r => r.Error!.GetType().Name + ": " + r.Error.Message.Split('\n')[0]);
    foreach (var g in failures)
    {
        Console.WriteLine($"{g.Count()} × {g.Key}\n  e.g. {g.First().File}\n{g.First().Error!.StackTrace}");
    }

    return;
}

var yaml = Environment.GetEnvironmentVariable("FUZZ_TARGET") == "yaml";
Fuzzer.OutOfProcess.Run(yaml ? FuzzYaml : FuzzOne);

// afl feeds stdin (not seekable: zips go through SharpCompress's forward reader); a file is seekable (ZipArchive).
static Exception? Replay(string file)
{
    foreach (var seekable in new[] { false, true })
    {
        try
        {
            using var input = seekable ? File.OpenRead(file) : (Stream)new BufferedStream(new ForwardOnly(File.OpenRead(file)));
            if (Environment.GetEnvironmentVariable("FUZZ_TARGET") == "yaml")
            {
                FuzzYaml(input);
            }
            else
            {
                FuzzOne(input);
            }
        }
        catch (Exception e)
        {
            return e;
        }
    }

    return null;
}

static void FuzzOne(Stream stream)
{
    Spec ??= BuildSpec();

    // Small limits, so that a bomb is refused within afl's time budget rather than read for seconds.
    Limits ??= new DecompressionLimits { MaxBytes = 16 << 20, MaxRatio = 100, RatioCheckAfterBytes = 1 << 20 };
    try
    {
        foreach (var entry in Decompression.OpenAsync(stream, "fuzz.bin", Limits, CancellationToken.None).ToBlockingEnumerable())
        {
            try
            {
                Parse(entry.Stream, entry.Name, Spec);
            }
            finally
            {
                entry.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
    }
    catch (CsvFormatException)
    {
    }
    catch (SourceSchemaException)
    {
    }
    catch (InvalidDataException e) when (e.Message.StartsWith("fuzz.bin", StringComparison.Ordinal))
    {
        // corrupt, truncated or bomb-sized compressed input, named: the clear outcome we want
    }
}

// One input read as a table spec and as a tenant.yaml (in a throwaway config root, beside a real schema the tenant
// may name): both must accept it or refuse it with a ConfigException, whatever the bytes.
static void FuzzYaml(Stream stream)
{
    using var reader = new StreamReader(stream);
    var text = reader.ReadToEnd();
    try
    {
        TableSpecReader.Read(text, "fuzz.yaml");
    }
    catch (ConfigException)
    {
    }

    ConfigRoot ??= YamlConfigRoot();
    File.WriteAllText(Path.Combine(ConfigRoot, "tenants", "fuzz", "tenant.yaml"), text);
    try
    {
        EtlStream.Tenancy.TenantConfigReader.Read(ConfigRoot, "fuzz");
    }
    catch (ConfigException)
    {
    }
}

static string YamlConfigRoot()
{
    var root = Path.Combine(Path.GetTempPath(), $"etlstream-fuzz-{Environment.ProcessId}");
    Directory.CreateDirectory(Path.Combine(root, "tenants", "fuzz"));
    Directory.CreateDirectory(Path.Combine(root, "schemas"));
    File.WriteAllText(Path.Combine(root, "schemas", "invoices.yaml"), "table: invoices\ncolumns:\n  - { name: id, type: int64 }\n");
    return root;
}

static void Parse(Stream input, string name, TableSpec spec)
{
    using var parser = new CsvArrowParser(input, name, spec.Csv);
    var header = parser.ReadHeaderAsync().AsTask().GetAwaiter().GetResult();
    if (header.Count == 0)
    {
        return;
    }

    var bound = new TableTransform(spec, new DateOnly(2026, 11, 24)).Bind(name, header);
    while (parser.ReadBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
    {
        using (batch)
        using (bound.Apply(batch))
        {
        }
    }
}

static TableSpec BuildSpec() => TableSpecReader.Read("""
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
    """, "fuzz.yaml") with { Csv = CsvOptions.Default with { BatchRows = 3, MaxRecordBytes = 4096, MaxColumns = 256 } };

/// <summary>Built on first use: instrumented engine code may only run once SharpFuzz has set up afl's coverage map.</summary>
internal static partial class Program
{
    private static TableSpec? Spec;
    private static DecompressionLimits? Limits;
    private static string? ConfigRoot;
}

/// <summary>A file read as a pipe is: forward only, length unknown.</summary>
internal sealed class ForwardOnly(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
