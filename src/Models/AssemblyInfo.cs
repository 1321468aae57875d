[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Unlearn.Models.Tests")]
