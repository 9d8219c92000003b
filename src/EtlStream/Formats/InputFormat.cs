using EtlStream.Tables;

namespace EtlStream.Formats;

/// <summary>
/// An input format (CSV, JSON, …): it names itself, recognises its own content from an entry's first bytes and
/// opens a reader over an entry. One instance per format, registered in <see cref="InputFormats"/>; adding a
/// format is its folder plus one line there.
/// </summary>
public abstract class InputFormat
{
    /// <summary>The name used by <c>format:</c> in a table spec and by <c>--format</c> (<c>csv</c>, <c>json</c>…).</summary>
    public abstract string Kind { get; }

    /// <summary>
    /// True when <paramref name="head"/>, the first bytes of a decompressed entry (at most
    /// <see cref="InputFormats.HeadBytes"/>, fewer for a short entry), are unmistakably this format's. CSV, which
    /// has no signature, recognises nothing: it is what an entry no format claims is read as.
    /// </summary>
    public abstract bool Recognizes(ReadOnlySpan<byte> head);

    /// <summary>Opens a reader over <paramref name="input"/>, an entry named <paramref name="source"/> in errors.</summary>
    public abstract IRecordReader Open(Stream input, string source, TableSpec spec);

    /// <summary>
    /// As <see cref="Open(Stream, string, TableSpec)"/>, told the path of the entry when it is a plain local file
    /// (null when it is remote, compressed, inside an archive or piped). A format that needs random access
    /// (Parquet's schema and row-group index are at its end) reads that file in place instead of the stream.
    /// </summary>
    public virtual IRecordReader Open(Stream input, string source, TableSpec spec, string? localPath) => Open(input, source, spec);
}
