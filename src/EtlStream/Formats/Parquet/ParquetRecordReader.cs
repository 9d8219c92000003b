using Apache.Arrow;
using Apache.Arrow.Ipc;
using EtlStream.Formats.Arrow;
using EtlStream.Tables;
using ParquetSharp;
using ParquetFileReader = ParquetSharp.Arrow.FileReader;

namespace EtlStream.Formats.Parquet;

/// <summary>
/// Reads one Parquet entry as typed batches: the schema's top-level fields are the header, the fields the spec reads
/// are decoded (others never are), <see cref="ArrowReaderProperties.BatchSize"/> rows at a time, sized from the file's
/// own column sizes so a batch stays within the spec's batch bytes whatever the row groups' size.
/// </summary>
internal sealed class ParquetRecordReader(Stream input, string source, TableSpec spec, string? localPath) : IRecordReader
{
    private ParquetSpool? _spool;
    private ParquetFileReader? _reader;
    private IArrowArrayStream? _batches;
    private string[] _header = [];
    private ColumnType?[] _types = [];
    private int[] _fieldOfColumn = [];
    private long _totalRows;
    private long _fileBytes;
    private long _rowsRead;

    public long BytesConsumed => _totalRows == 0 ? 0 : (long)((double)_fileBytes * _rowsRead / _totalRows);

    public IReadOnlyList<string> HeaderWarnings => [];

    public IReadOnlyList<ColumnType?>? HeaderTypes => _types;

    public async ValueTask<IReadOnlyList<string>> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        string path;
        if (localPath is not null)
        {
            path = localPath;
        }
        else
        {
            _spool = await ParquetSpool.WriteAsync(input, cancellationToken).ConfigureAwait(false);
            path = _spool.Path;
        }

        _fileBytes = new FileInfo(path).Length;
        if (_fileBytes == 0)
        {
            return [];
        }

        var schema = Guard(() =>
        {
            using var probe = new ParquetFileReader(path);
            var s = probe.Schema;
            _totalRows = probe.ParquetReader.FileMetaData.NumRows;
            return s;
        });

        _header = new string[schema.FieldsList.Count];
        _types = new ColumnType?[_header.Length];
        for (var i = 0; i < _header.Length; i++)
        {
            _header[i] = schema.FieldsList[i].Name;
            _types[i] = ArrowColumns.TypeOf(schema.FieldsList[i].DataType);
        }

        var needed = ArrowColumns.Needed(_header, spec);
        if (System.Array.IndexOf(needed, true) < 0 && spec.InferColumns)
        {
            return _header; // header only: the spec's columns are being inferred from it
        }

        ArrowColumns.CheckReadable(source, schema, needed);
        Guard(() => Open(path, needed));
        return _header;
    }

    private int Open(string path, bool[] needed)
    {
        // Rows per batch: the spec's, fewer when the file's own sizes say they would pass its batch bytes.
        using (var probe = new ParquetFileReader(path))
        {
            var manifest = probe.SchemaManifest;
            var leaves = new List<int>();
            var fields = new List<int>();
            for (var i = 0; i < needed.Length; i++)
            {
                if (needed[i])
                {
                    leaves.Add(manifest.SchemaFields[i].ColumnIndex);
                    fields.Add(i);
                }
            }

            if (leaves.Count == 0 && needed.Length > 0)
            {
                // Nothing read but computed or missing optional columns: one column still counts the rows.
                leaves.Add(FirstLeaf(manifest.SchemaFields[0]));
            }

            _fieldOfColumn = [.. fields];
            var rowBytes = RowBytes(probe.ParquetReader, leaves);
            var rows = (int)Math.Clamp(spec.Csv.BatchBytes / Math.Max(rowBytes, 1), 1, spec.Csv.BatchRows);
            using var properties = ParquetSharp.Arrow.ArrowReaderProperties.GetDefault();
            properties.BatchSize = rows;
            properties.PreBuffer = false; // pages are read as decoded, not a whole row group's columns at once
            _reader = new ParquetFileReader(path, arrowProperties: properties);
            _batches = _reader.GetRecordBatchReader(columns: [.. leaves]);
        }

        return 0;
    }

    private static int FirstLeaf(ParquetSharp.Arrow.SchemaField field) =>
        field.ColumnIndex >= 0 ? field.ColumnIndex : FirstLeaf(field.Children[0]);

    /// <summary>The most uncompressed bytes a row of <paramref name="leaves"/> takes in any row group, plus its Arrow offsets and validity.</summary>
    private static long RowBytes(ParquetSharp.ParquetFileReader file, List<int> leaves)
    {
        long most = 0;
        for (var g = 0; g < file.FileMetaData.NumRowGroups; g++)
        {
            using var group = file.RowGroup(g);
            var rows = Math.Max(1, group.MetaData.NumRows);
            long bytes = 0;
            foreach (var leaf in leaves)
            {
                bytes += group.MetaData.GetColumnChunkMetaData(leaf).TotalUncompressedSize + (rows * 5);
            }

            most = Math.Max(most, bytes / rows);
        }

        return most;
    }

    public async ValueTask<TextBatch?> ReadBatchAsync(CancellationToken cancellationToken)
    {
        if (_batches is null)
        {
            return null;
        }

        RecordBatch? batch;
        try
        {
            batch = await _batches.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ParquetException e)
        {
            throw Corrupt(e);
        }

        if (batch is null)
        {
            return null;
        }

        try
        {
            var columns = new IArrowArray?[_header.Length];
            for (var c = 0; c < _fieldOfColumn.Length; c++)
            {
                columns[_fieldOfColumn[c]] = batch.Column(c);
            }

            var first = _rowsRead + 1;
            var before = BytesConsumed;
            _rowsRead += batch.Length;
            return TextBatch.FromArrow(source, _header, columns, batch.Length, first, BytesConsumed - before, ArrowColumns.Bytes(batch.Arrays), batch);
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    private T Guard<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (ParquetException e)
        {
            throw Corrupt(e);
        }
    }

    /// <summary>ParquetSharp's reason, naming the entry rather than a spool file the user never saw.</summary>
    private InvalidDataException Corrupt(ParquetException e)
    {
        var reason = e.Message.Split('\n')[0].Trim();
        if (_spool is not null)
        {
            reason = reason.Replace(_spool.Path, source, StringComparison.Ordinal);
        }

        return new InvalidDataException($"{source}: corrupt Parquet file: {reason}", e);
    }

    public void Dispose()
    {
        _batches?.Dispose();
        _reader?.Dispose();
        _spool?.Dispose();
    }
}
