namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// The labels of transactions this machine began and has not yet committed or rolled back, one file per label
/// prefix. StarRocks has no HTTP call that lists open transactions, so this record is how the next start finds
/// (and rolls back) what a crashed run left prepared.
/// </summary>
internal sealed class OpenTransactionRecord(string directory, string prefix)
{
    private readonly Lock _gate = new();

    private string FilePath => Path.Combine(directory, prefix.TrimEnd('_') + ".open");

    public IReadOnlyList<string> Read()
    {
        lock (_gate)
        {
            return File.Exists(FilePath)
                ? File.ReadAllLines(FilePath).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToList()
                : [];
        }
    }

    public void Add(string label)
    {
        lock (_gate)
        {
            var labels = Current();
            if (labels.Add(label))
            {
                Write(labels);
            }
        }
    }

    public void Remove(string label)
    {
        lock (_gate)
        {
            var labels = Current();
            if (labels.Remove(label))
            {
                Write(labels);
            }
        }
    }

    private HashSet<string> Current() =>
        File.Exists(FilePath) ? new HashSet<string>(File.ReadAllLines(FilePath).Where(l => l.Length > 0), StringComparer.Ordinal) : new(StringComparer.Ordinal);

    private void Write(HashSet<string> labels)
    {
        Directory.CreateDirectory(directory);
        var temp = FilePath + ".tmp";
        File.WriteAllLines(temp, labels.Order(StringComparer.Ordinal));
        File.Move(temp, FilePath, overwrite: true); // never a half-written record
    }
}
