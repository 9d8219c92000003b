using EtlStream.Tables;

namespace EtlStream.Formats.Parquet;

/// <summary>
/// Apache Parquet, recognised by its <c>PAR1</c> magic. Read row group by row group into Arrow with ParquetSharp,
/// only the columns the spec reads, in batches of the spec's rows and bytes (a row group larger than the memory
/// budget is read in slices, never whole). Parquet keeps its schema at the end of the file, so a plain local file is
/// read in place and anything else (compressed, remote, in an archive, piped) is first spooled to a temporary file.
/// </summary>
internal sealed class ParquetFormat : InputFormat
{
    public static ParquetFormat Instance { get; } = new();

    private ParquetFormat()
    {
    }

    public override string Kind => "parquet";

    public override bool Recognizes(ReadOnlySpan<byte> head) => head.StartsWith("PAR1"u8);

    public override IRecordReader Open(Stream input, string source, TableSpec spec) => new ParquetRecordReader(input, source, spec, null);

    public override IRecordReader Open(Stream input, string source, TableSpec spec, string? localPath) => new ParquetRecordReader(input, source, spec, localPath);
}
