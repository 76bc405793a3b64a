func.func @kmeans_cosine_init_f16_dynamic(%x: tensor<?x?x?xf16>, %mu: tensor<?x3x?xf16>) -> (tensor<?x?xi32>, tensor<?x3x?xf16>) {
  %a, %c = clus.kmeans %x init(%mu : tensor<?x3x?xf16>) clusters = 3 iterations = 7 metric = cosine : tensor<?x?x?xf16>
  return %a, %c : tensor<?x?xi32>, tensor<?x3x?xf16>
}
