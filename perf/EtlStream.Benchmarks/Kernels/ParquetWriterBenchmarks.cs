using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using BenchmarkDotNet.Attributes;
using DuckDB.NET.Data;
using EtlStream.Sinks;
using EtlStream.Transforms;
using Parquet;
using Parquet.Schema;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>
/// Which Parquet writer the Parquet sink should use: ParquetSharp's Arrow writer (what <c>ParquetSink</c> does now,
/// the baseline) against Parquet.Net 6.1.0 (pure managed), over the standard job's transformed batches (100,000 rows
/// in, the rows left by the <c>qty != 0</c> filter out), zstd, one row group per batch, written to /dev/shm when it
/// exists. The Parquet.Net op includes converting each Arrow column to the CLR arrays Parquet.Net takes, since a sink
/// built on it would pay that too. <see cref="Setup"/> writes each file once and checks with DuckDB that both hold the
/// same data.
/// </summary>
[Config(typeof(KernelBenchmarkConfig))]
[MemoryDiagnoser]
[KernelWorkload(KernelWorkload.OutputRows)]
public class ParquetWriterBenchmarks
{
    /// <summary>
    /// Parquet.Net's default zstd level is <see cref="CompressionLevel.SmallestSize"/> (zstd's top levels, ~100× slower
    /// than <see cref="CompressionLevel.Fastest"/> on an int64 column in a one-off check); ParquetSharp (Arrow C++)
    /// uses zstd level 1 by default. Fastest is the like-for-like setting.
    /// </summary>
    private const CompressionLevel ParquetNetLevel = CompressionLevel.Fastest;

    private ParsedCsv _parsed = null!;
    private TransformedBatch[] _batches = null!;
    private string _directory = null!;
    private string _sharpPath = null!;
    private string _netPath = null!;
    private ArrowToParquetNet _converter = null!;

    [GlobalSetup]
    public void Setup()
    {
        var data = StandardJobData.Create();
        _parsed = data.Parse();
        _batches = data.Transform(_parsed);
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _directory = Path.Combine(root, $"etlstream-parquet-writers-{Environment.ProcessId}");
        Directory.CreateDirectory(_directory);
        _sharpPath = Path.Combine(_directory, "parquetsharp.parquet");
        _netPath = Path.Combine(_directory, "parquetnet.parquet");
        _converter = new ArrowToParquetNet(_batches[0].Batch.Schema);

        // One write of each outside the timed ops, then the same figures from both files through DuckDB.
        var rows = ParquetSharp().GetAwaiter().GetResult();
        if (ParquetNet().GetAwaiter().GetResult() != rows)
        {
            throw new InvalidOperationException("The two writers were given different row counts.");
        }

        Verify(rows);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in _batches)
        {
            b.Dispose();
        }

        _parsed.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Baseline: exactly what the Parquet sink does (ParquetSharp Arrow <c>FileWriter</c>, one row group per batch).</summary>
    [Benchmark(Baseline = true)]
    public async Task<long> ParquetSharp()
    {
        return await StandardJobData.WriteThroughAsync(SinkTarget.Create("parquet:" + _sharpPath, "t"), _batches);
    }

    /// <summary>Parquet.Net 6.1.0: Arrow columns converted to CLR arrays, one row group per batch, zstd.</summary>
    [Benchmark]
    public async Task<long> ParquetNet()
    {
        var options = new ParquetOptions { CompressionMethod = CompressionMethod.Zstd, CompressionLevel = ParquetNetLevel };
        await using var stream = new FileStream(_netPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        await using var writer = await ParquetWriter.CreateAsync(_converter.Schema, stream, options);
        var rows = 0L;
        foreach (var b in _batches)
        {
            using var rowGroup = writer.CreateRowGroup();
            await _converter.WriteAsync(rowGroup, b.Batch);
            rows += b.Batch.Length;
        }

        return rows;
    }

    private void Verify(long rows)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        string Scalar(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            var sb = new StringBuilder();
            while (reader.Read())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"{reader.GetValue(i)}").Append(i + 1 < reader.FieldCount ? ", " : "; ");
                }
            }

            return sb.ToString();
        }

        string Figures(string file) => Scalar($"SELECT count(*), sum(qty)::BIGINT, sum(gross_amount)::DECIMAL(38,2) FROM read_parquet('{file}')");
        string Types(string file) => Scalar($"SELECT name, type, logical_type FROM parquet_schema('{file}') WHERE type IS NOT NULL AND name IN ('qty','gross_amount','discount_pct','invoice_date','created_at','active_flag','dealer_name')");
        string Except(string a, string b) => Scalar($"SELECT count(*) FROM (SELECT * FROM read_parquet('{a}') EXCEPT ALL SELECT * FROM read_parquet('{b}'))");

        var sharp = Figures(_sharpPath);
        var net = Figures(_netPath);
        var onlySharp = Except(_sharpPath, _netPath);
        var onlyNet = Except(_netPath, _sharpPath);
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"// ParquetWriterBenchmarks check ({rows:N0} rows written by each):")
            .AppendLine(CultureInfo.InvariantCulture, $"//   ParquetSharp {new FileInfo(_sharpPath).Length:N0} B: {sharp}")
            .AppendLine(CultureInfo.InvariantCulture, $"//   Parquet.Net  {new FileInfo(_netPath).Length:N0} B: {net}")
            .AppendLine(CultureInfo.InvariantCulture, $"//   rows only in ParquetSharp's file: {onlySharp} rows only in Parquet.Net's file: {onlyNet}")
            .AppendLine(CultureInfo.InvariantCulture, $"//   ParquetSharp types: {Types(_sharpPath)}")
            .AppendLine(CultureInfo.InvariantCulture, $"//   Parquet.Net types:  {Types(_netPath)}");
        Console.WriteLine(report.ToString());
        if (sharp != net || onlySharp != "0; " || onlyNet != "0; ")
        {
            throw new InvalidOperationException("OUTPUTS DIFFER:\n" + report);
        }
    }
}

/// <summary>
/// Maps an Arrow schema to a Parquet.Net schema and writes one record batch as one row group, converting each Arrow
/// column to the nullable CLR array Parquet.Net takes. Conversion buffers are kept between batches (as a sink would
/// keep them); the arrays are grown when a batch is longer than any before.
/// </summary>
internal sealed class ArrowToParquetNet
{
    private static readonly int EpochDayNumber = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

    private readonly DataField[] _fields;
    private readonly object?[] _buffers;
    private readonly char[]?[] _chars;

    public ArrowToParquetNet(Apache.Arrow.Schema arrow)
    {
        _fields = [.. arrow.FieldsList.Select(ToParquet)];
        Schema = new ParquetSchema(_fields);
        _buffers = new object?[_fields.Length];
        _chars = new char[]?[_fields.Length];
    }

    public ParquetSchema Schema { get; }

    private static DataField ToParquet(Apache.Arrow.Field f) => f.DataType switch
    {
        StringType => new DataField<string>(f.Name, nullable: true),
        Int64Type => new DataField<long?>(f.Name, nullable: true),
        // Parquet.Net's default for a decimal (forceByteArrayEncoding: false): INT32 for precision <= 9, INT64 for <= 18.
        Decimal128Type d => new DecimalDataField(f.Name, d.Precision, d.Scale, isNullable: true),
        Date32Type => new DataField<DateOnly?>(f.Name, nullable: true),
        TimestampType { Unit: TimeUnit.Microsecond } t => new DateTimeDataField(
            f.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: !string.IsNullOrEmpty(t.Timezone), unit: DateTimeTimeUnit.Micros, isNullable: true),
        BooleanType => new DataField<bool?>(f.Name, nullable: true),
        _ => throw new NotSupportedException($"Column '{f.Name}': Arrow type {f.DataType.Name} is not mapped to Parquet.Net."),
    };

    public async Task WriteAsync(ParquetRowGroupWriter rowGroup, RecordBatch batch)
    {
        for (var c = 0; c < _fields.Length; c++)
        {
            var field = _fields[c];
            switch (batch.Column(c))
            {
                case StringArray a:
                    await rowGroup.WriteAsync(field, Strings(c, a), null);
                    break;
                case Int64Array a:
                    await rowGroup.WriteAsync(field, Convert(c, a, static (a, i) => a.Values[i]), null);
                    break;
                case Decimal128Array a:
                    await rowGroup.WriteAsync(field, Decimals(c, a), null);
                    break;
                case Date32Array a:
                    await rowGroup.WriteAsync(field, Convert(c, a, static (a, i) => DateOnly.FromDayNumber(EpochDayNumber + a.Values[i])), null);
                    break;
                case TimestampArray a:
                    await rowGroup.WriteAsync(field, Convert(c, a, static (a, i) => DateTime.UnixEpoch.AddTicks(a.Values[i] * TimeSpan.TicksPerMicrosecond)), null);
                    break;
                case BooleanArray a:
                    await rowGroup.WriteAsync(field, Convert(c, a, static (a, i) => a.GetValue(i)!.Value), null);
                    break;
                default:
                    throw new NotSupportedException($"Column '{field.Name}': {batch.Column(c).GetType().Name}.");
            }
        }

        rowGroup.CompleteValidate();
    }

    private T?[] Buffer<T>(int column, int length)
        where T : struct
    {
        if (_buffers[column] is not T?[] buffer || buffer.Length < length)
        {
            buffer = new T?[length];
            _buffers[column] = buffer;
        }

        return buffer;
    }

    private ReadOnlyMemory<T?> Convert<TArray, T>(int column, TArray array, Func<TArray, int, T> value)
        where TArray : IArrowArray
        where T : struct
    {
        var n = array.Length;
        var buffer = Buffer<T>(column, n);
        if (array.NullCount == 0)
        {
            for (var i = 0; i < n; i++)
            {
                buffer[i] = value(array, i);
            }
        }
        else
        {
            for (var i = 0; i < n; i++)
            {
                buffer[i] = array.IsNull(i) ? null : value(array, i);
            }
        }

        return buffer.AsMemory(0, n);
    }

    /// <summary>Unscaled 128-bit values to <see cref="decimal"/>; precision &lt;= 18 fits the low 64 bits.</summary>
    private ReadOnlyMemory<decimal?> Decimals(int column, Decimal128Array array)
    {
        var type = (Decimal128Type)array.Data.DataType;
        var n = array.Length;
        var buffer = Buffer<decimal>(column, n);
        if (type.Precision > 18)
        {
            for (var i = 0; i < n; i++)
            {
                buffer[i] = array.GetValue(i);
            }

            return buffer.AsMemory(0, n);
        }

        var scale = (byte)type.Scale;
        var words = MemoryMarshal.Cast<byte, long>(array.ValueBuffer.Span).Slice(array.Offset * 2, n * 2);
        for (var i = 0; i < n; i++)
        {
            if (array.IsNull(i))
            {
                buffer[i] = null;
                continue;
            }

            var v = words[i * 2];
            var magnitude = v < 0 ? (ulong)-v : (ulong)v;
            buffer[i] = new decimal((int)(uint)magnitude, (int)(uint)(magnitude >> 32), 0, v < 0, scale);
        }

        return buffer.AsMemory(0, n);
    }

    /// <summary>UTF-8 values decoded into one reused char buffer per column, each value a slice of it.</summary>
    private ReadOnlyMemory<ReadOnlyMemory<char>?> Strings(int column, StringArray array)
    {
        var n = array.Length;
        var buffer = Buffer<ReadOnlyMemory<char>>(column, n);
        var offsets = array.ValueOffsets;
        var bytes = array.Values;
        var byteCount = offsets[n] - offsets[0];
        var chars = _chars[column];
        if (chars is null || chars.Length < byteCount)
        {
            chars = new char[Math.Max(byteCount, 1)];
            _chars[column] = chars;
        }

        var position = 0;
        for (var i = 0; i < n; i++)
        {
            if (array.IsNull(i))
            {
                buffer[i] = null;
                continue;
            }

            var written = Encoding.UTF8.GetChars(bytes[offsets[i]..offsets[i + 1]], chars.AsSpan(position));
            buffer[i] = chars.AsMemory(position, written);
            position += written;
        }

        return buffer.AsMemory(0, n);
    }
}
